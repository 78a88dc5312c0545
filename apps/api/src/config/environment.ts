import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The one place that reads `process.env`: a `.env` file in the working folder, when there is
 * one, fills in what the real environment leaves unset.
 */
export function readEnvironment(
  cwd = process.cwd(),
): Record<string, string | undefined> {
  const envFile = resolve(cwd, '.env');
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  return { ...process.env };
}
