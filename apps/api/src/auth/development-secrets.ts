import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A secret generated once into the data folder (mode 0600) and read back at every start, so a
 * development setup keeps it across restarts: the admin password, the development service key.
 */
export async function generatedSecret(
  dataDir: string,
  name: string,
  bytes: number,
): Promise<{ value: string; file: string }> {
  const file = join(dataDir, name);
  if (!existsSync(file)) {
    await mkdir(dataDir, { recursive: true });
    await writeFile(file, `${randomBytes(bytes).toString('base64url')}\n`, {
      mode: 0o600,
    });
  }
  return { value: (await readFile(file, 'utf8')).trim(), file };
}
