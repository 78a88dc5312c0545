import { Fernet, keyIdOf } from '@keeper/fernet';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidConfigError, loadAppConfig } from '../config/app-config';
import {
  DEV_KEY_FILE_NAME,
  devKeyWarning,
  KeyRingError,
  loadKeyRing,
} from './key-ring.loader';

describe(loadKeyRing.name, () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'atk-keys-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('uses FERNET_KEYS, primary first, and writes no file', async () => {
    const keys = [Fernet.generateKey(), Fernet.generateKey()];

    const sut = await loadKeyRing({
      fernetKeys: keys,
      isProduction: true,
      dataDir,
    });

    expect(sut.keyRing.keyIds).toEqual(keys.map(keyIdOf));
    expect(sut.keyRing.primaryKeyId).toBe(keyIdOf(keys[0]));
    expect(sut.devKeyFile).toBeUndefined();
    await expect(stat(join(dataDir, DEV_KEY_FILE_NAME))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('in development, generates one key into <dataDir>/fernet.keys (mode 0600) once and reuses it', async () => {
    const path = join(dataDir, 'nested', DEV_KEY_FILE_NAME);
    const config = {
      fernetKeys: [],
      isProduction: false,
      dataDir: join(dataDir, 'nested'),
    };

    const first = await loadKeyRing(config);
    const second = await loadKeyRing(config);

    expect(first.devKeyFile).toEqual({ path, created: true });
    expect(second.devKeyFile).toEqual({ path, created: false });
    expect(second.keyRing.keyIds).toEqual(first.keyRing.keyIds);
    const key = (await readFile(path, 'utf8')).trim();
    expect(keyIdOf(key)).toBe(first.keyRing.primaryKeyId);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('gives processes starting at the same moment one key between them', async () => {
    const config = { fernetKeys: [], isProduction: false, dataDir };

    const loaded = await Promise.all(
      Array.from({ length: 8 }, () => loadKeyRing(config)),
    );

    expect(new Set(loaded.map((sut) => sut.keyRing.primaryKeyId)).size).toBe(1);
    expect(loaded.filter((sut) => sut.devKeyFile?.created)).toHaveLength(1);
  });

  it('warns to set FERNET_KEYS, naming the file and never the key', async () => {
    const sut = await loadKeyRing({
      fernetKeys: [],
      isProduction: false,
      dataDir,
    });
    const key = (
      await readFile(join(dataDir, DEV_KEY_FILE_NAME), 'utf8')
    ).trim();

    const warning = devKeyWarning(
      sut.devKeyFile ?? { path: '', created: false },
    );

    expect(warning).toMatch(
      /^FERNET_KEYS is not set: generated a development key into .*fernet\.keys\. Set FERNET_KEYS/,
    );
    expect(warning).not.toContain(key);
    expect(warning).not.toContain(key.slice(0, 12));
  });

  it('refuses to run in production without FERNET_KEYS, in the configuration and here', async () => {
    expect(() => loadAppConfig({ NODE_ENV: 'production' })).toThrow(
      InvalidConfigError,
    );
    expect(() => loadAppConfig({ NODE_ENV: 'production' })).toThrow(
      /FERNET_KEYS is required when NODE_ENV=production/,
    );

    await expect(
      loadKeyRing({ fernetKeys: [], isProduction: true, dataDir }),
    ).rejects.toThrow(
      new KeyRingError('FERNET_KEYS is required when NODE_ENV=production'),
    );
    await expect(stat(join(dataDir, DEV_KEY_FILE_NAME))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('stops on a bad key in the key file, naming its position and not its value', async () => {
    await writeFile(
      join(dataDir, DEV_KEY_FILE_NAME),
      `# keys\n${Fernet.generateKey()}\nnot-a-key-canary\n`,
    );

    const failure = loadKeyRing({
      fernetKeys: [],
      isProduction: false,
      dataDir,
    });

    await expect(failure).rejects.toThrow(KeyRingError);
    await expect(failure).rejects.toThrow(
      /fernet\.keys: key #2 is not a valid Fernet key \(32 bytes, url-safe base64\)$/,
    );
    await expect(failure).rejects.not.toThrow(/canary/);
  });

  it('stops on an empty key file rather than generating a key over it', async () => {
    await writeFile(join(dataDir, DEV_KEY_FILE_NAME), '\n');

    await expect(
      loadKeyRing({ fernetKeys: [], isProduction: false, dataDir }),
    ).rejects.toThrow(/holds no Fernet key/);
  });
});
