import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Fernet } from '@keeper/fernet';
import { AppConfig, loadAppConfig } from '../src/config/app-config';
import { DatabaseTarget } from '../src/database/data-source-options';
import { createHttpApp } from '../src/http-app';

/** The key every test app encrypts with unless a test sets FERNET_KEYS (one per test file). */
export const TEST_FERNET_KEY = Fernet.generateKey();

/** The environment every test app starts from: quiet, development, no real Amazon, a Fernet key. */
export const TEST_ENVIRONMENT: Record<string, string> = {
  NODE_ENV: 'test',
  FERNET_KEYS: TEST_FERNET_KEY,
  LOG_LEVEL: 'silent',
  PORT: '0',
  HOST: '127.0.0.1',
};

export function testConfig(
  overrides: Record<string, string | undefined> = {},
): AppConfig {
  return loadAppConfig({ ...TEST_ENVIRONMENT, ...overrides });
}

/** The API exactly as `main.ts` builds it, initialised and ready for `inject()`. */
export async function startTestApp(
  database: DatabaseTarget,
  overrides: Record<string, string | undefined> = {},
): Promise<NestFastifyApplication> {
  const app = await createHttpApp(testConfig(overrides), database);
  await app.init();
  // Nest buffers its loggers' lines (bufferLogs) until listen(); a test app that only injects
  // would keep every line in memory and log nothing, so log assertions would see nothing.
  app.flushLogs();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}
