import { Fernet, keyIdOf } from '@keeper/fernet';
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AppConfig } from '../config/app-config';
import { KeyRing } from './key-ring';
import type { KeyUsage } from './key-usage.service';

/** The development key file, under the data folder, used only when FERNET_KEYS is unset. */
export const DEV_KEY_FILE_NAME = 'fernet.keys';

/** The key ring cannot be built; `main.ts` and the CLI print the message without a stack. */
export class KeyRingError extends Error {
  override name = KeyRingError.name;
}

export interface LoadedKeyRing {
  keyRing: KeyRing;
  /** Set when FERNET_KEYS is unset and the development key file stands in for it. */
  devKeyFile?: { path: string; created: boolean };
}

/**
 * The key ring from FERNET_KEYS (already validated by `loadAppConfig`). Outside production,
 * with FERNET_KEYS unset, one key is generated once into `<dataDir>/fernet.keys` (mode 0600)
 * and reused by every later start, so development data stays readable across restarts.
 */
export async function loadKeyRing(
  config: Pick<AppConfig, 'fernetKeys' | 'isProduction' | 'dataDir'>,
): Promise<LoadedKeyRing> {
  if (config.fernetKeys.length > 0)
    return { keyRing: new KeyRing(config.fernetKeys) };
  if (config.isProduction)
    throw new KeyRingError('FERNET_KEYS is required when NODE_ENV=production');

  const path = join(config.dataDir, DEV_KEY_FILE_NAME);
  const created = await createDevKeyFile(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new KeyRingError(
      `Cannot read ${path} (${(error as NodeJS.ErrnoException).code}); set FERNET_KEYS instead.`,
    );
  }
  return {
    keyRing: new KeyRing(keysInFile(text, path)),
    devKeyFile: { path, created },
  };
}

/**
 * Refuses a key ring that reads none of the stored secrets: stored rows exist and not one is
 * under a configured key. A rotation keeps the old key after the new one (so some rows are
 * always readable); nothing readable at all is a typo (or a wrong key), and starting anyway
 * would store every new connection under it. Names key ids (short hashes), never keys.
 */
export function assertStoredKeysConfigured(
  usage: Pick<KeyUsage, 'keys'>,
  source = 'FERNET_KEYS',
): void {
  const stored = usage.keys.filter((key) => key.rows > 0);
  if (stored.length === 0 || stored.some((key) => key.configured)) return;
  const configured = usage.keys
    .filter((key) => key.configured)
    .map((key) => key.keyId);
  const rows = stored.reduce((sum, key) => sum + key.rows, 0);
  throw new KeyRingError(
    `None of the ${rows} stored secret(s) is under a key in ${source}: they are under key id(s) ` +
      `${stored.map((key) => key.keyId).join(', ')}, and ${source} holds key id(s) ${configured.join(', ')}. ` +
      'This looks like a typo in a key, not a rotation (a rotation keeps the old key after the new one). ' +
      `Put the key those rows were encrypted with back into ${source} (\`npm run keys -- status\` shows the ids).`,
  );
}

/** What to tell the operator when the development key file stands in for FERNET_KEYS. */
export function devKeyWarning(devKeyFile: {
  path: string;
  created: boolean;
}): string {
  return (
    `FERNET_KEYS is not set: ${devKeyFile.created ? 'generated a development key into' : 'using the development key in'} ` +
    `${devKeyFile.path}. Set FERNET_KEYS (\`npm run keys -- generate\`) before storing real tokens; ` +
    'with NODE_ENV=production the API refuses to start without it.'
  );
}

/** Creates the file unless it exists; `true` when this call created it. */
async function createDevKeyFile(path: string): Promise<boolean> {
  await mkdir(dirname(path), { recursive: true });
  // Written aside, then linked into place: link() fails when the file exists, so two processes
  // starting at once (the API and the CLI) agree on one key, and no reader sees a half-written file.
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, `${Fernet.generateKey()}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  try {
    await link(temporary, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    throw new KeyRingError(
      `Cannot create ${path} (${code}); set FERNET_KEYS instead.`,
    );
  } finally {
    await rm(temporary, { force: true });
  }
}

/** One key per line (or comma-separated), primary first; `#` starts a comment line. */
function keysInFile(text: string, path: string): string[] {
  const keys = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((key) => key.trim())
    .filter((key) => key !== '');
  if (keys.length === 0) {
    throw new KeyRingError(
      `${path} holds no Fernet key: set FERNET_KEYS, or delete the file to generate a new key ` +
        '(what the old key encrypted then becomes unreadable).',
    );
  }
  keys.forEach((key, index) => {
    try {
      keyIdOf(key);
    } catch {
      throw new KeyRingError(
        `${path}: key #${index + 1} is not a valid Fernet key (32 bytes, url-safe base64)`,
      );
    }
  });
  return keys;
}
