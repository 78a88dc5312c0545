import { Database } from '../database/database';
import { Fernet, keyIdOf } from '@keeper/fernet';
import { DataSource } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { openTestDataSource } from '../../test/test-data-source';
import { seedEncryptedRows } from '../../test/seed-secrets';
import { KeyRing } from './key-ring';
import {
  CommandOutput,
  generateKeyCommand,
  keyStatusCommand,
  parseRotateArguments,
  rotateKeysCommand,
  UsageError,
} from './keys.command';

function capture(): CommandOutput & { stdout: string; stderr: string } {
  const output = {
    stdout: '',
    stderr: '',
    out: (text: string) => {
      output.stdout += text;
    },
    err: (text: string) => {
      output.stderr += text;
    },
  };
  return output;
}

describe('keys commands', () => {
  describe(generateKeyCommand.name, () => {
    it('prints a valid Fernet key and nothing else', () => {
      const processStdout = jest.spyOn(process.stdout, 'write');
      const output = capture();
      try {
        expect(generateKeyCommand(output)).toBe(0);
      } finally {
        processStdout.mockRestore();
      }

      expect(output.stdout).toMatch(/^[A-Za-z0-9_-]{43}=\n$/);
      const key = output.stdout.trim();
      expect(
        new Fernet(key).decrypt(new Fernet(key).encrypt('x')).toString(),
      ).toBe('x');
      expect(output.stderr).toBe('');
      expect(processStdout).not.toHaveBeenCalled();
      expect(capture().stdout).toBe('');
    });

    it('prints a different key each time', () => {
      const [first, second] = [capture(), capture()];
      generateKeyCommand(first);
      generateKeyCommand(second);

      expect(first.stdout).not.toBe(second.stdout);
    });
  });

  describe(parseRotateArguments.name, () => {
    it('takes --batch-size N or --batch-size=N, 500 by default', () => {
      expect(parseRotateArguments([])).toEqual({ batchSize: 500 });
      expect(parseRotateArguments(['--batch-size', '50'])).toEqual({
        batchSize: 50,
      });
      expect(parseRotateArguments(['--batch-size=2000'])).toEqual({
        batchSize: 2000,
      });
    });

    it.each([
      [['--batch-size']],
      [['--batch-size', '0']],
      [['--batch-size=1.5']],
      [['--batch-size', '10001']],
      [['--fast']],
    ])('refuses %j', (args) => {
      expect(() => parseRotateArguments(args)).toThrow(UsageError);
    });
  });

  describe('status and rotate', () => {
    const [primaryKey, oldKey, missingKey] = [
      Fernet.generateKey(),
      Fernet.generateKey(),
      Fernet.generateKey(),
    ];
    const [primary, old, missing] = [primaryKey, oldKey, missingKey].map(
      keyIdOf,
    );
    let database: TestDatabase;
    let dataSource: DataSource;
    const context = () => ({
      database: Database.of(dataSource),
      keyRing: new KeyRing([primaryKey, oldKey]),
    });

    beforeAll(async () => {
      database = await createTestDatabase();
      dataSource = await openTestDataSource(database);
      await seedEncryptedRows(database, primaryKey, {
        connections: 2,
        oauthStates: 1,
        prefix: 'p',
      });
      await seedEncryptedRows(database, oldKey, {
        connections: 30,
        oauthStates: 4,
        prefix: 'o',
      });
      await seedEncryptedRows(database, missingKey, {
        connections: 3,
        oauthStates: 0,
        prefix: 'm',
      });
    });

    afterAll(async () => {
      await dataSource?.destroy();
      await database?.drop();
    });

    it('shows rows per key id, marks the primary and the missing key, and says what to do', async () => {
      const output = capture();

      const exitCode = await keyStatusCommand(context(), output);

      expect(exitCode).toBe(1);
      const lines = output.stdout.split('\n');
      expect(lines).toEqual(
        expect.arrayContaining([
          'FERNET_KEYS holds 2 key(s), the primary first. Stored rows per key id:',
          expect.stringMatching(
            /^ {2}key id {12}role {23}connections {2}oauth_states {2}rows$/,
          ),
          expect.stringMatching(new RegExp(`^  ${primary}  primary +2 +1 +3$`)),
          expect.stringMatching(new RegExp(`^  ${old}  old +30 +4 +34$`)),
          expect.stringMatching(
            new RegExp(`^  ${missing}  missing — rows unreadable +3 +0 +3$`),
          ),
          expect.stringMatching(
            /^34 row\(s\) are still under old keys: run `npm run keys -- rotate`/,
          ),
          expect.stringMatching(
            new RegExp(
              `^3 row\\(s\\) are under key id\\(s\\) ${missing} that FERNET_KEYS no longer holds`,
            ),
          ),
        ]),
      );
      for (const key of [primaryKey, oldKey, missingKey])
        expect(output.stdout).not.toContain(key.slice(0, 20));
    });

    it('rotates, prints a summary, and says when the old key can go', async () => {
      const rotateOutput = capture();
      let clock = 0;

      const rotateExit = await rotateKeysCommand(
        context(),
        { batchSize: 10 },
        rotateOutput,
        () => (clock += 600),
      );

      expect(rotateExit).toBe(1);
      expect(rotateOutput.stdout).toContain(
        `Re-encrypting stored secrets under the primary key ${primary} (old key ids: ${old}), 10 rows per transaction.\n`,
      );
      expect(rotateOutput.stdout).toMatch(
        /^ {2}\d+ row\(s\) re-encrypted so far \(now in connections\)$/m,
      );
      expect(rotateOutput.stdout).toContain(
        `Re-encrypted 34 row(s) in 4 transaction(s): connections 30, oauth_states 4; from key id(s) ${old} (34).\n`,
      );
      expect(rotateOutput.stdout).toContain(
        `3 row(s) are under key id(s) ${missing} that FERNET_KEYS no longer holds`,
      );

      await database.query('DELETE FROM connections WHERE key_id = $1', [
        missing,
      ]);
      const statusOutput = capture();
      const statusExit = await keyStatusCommand(context(), statusOutput);

      expect(statusExit).toBe(0);
      expect(statusOutput.stdout).toMatch(
        new RegExp(`^  ${old}  old, no rows +0 +0 +0$`, 'm'),
      );
      expect(statusOutput.stdout).toContain(
        'Every stored secret is under the primary key.\n',
      );
      expect(statusOutput.stdout).toContain(
        `Key id(s) ${old} hold no rows: remove them from FERNET_KEYS`,
      );

      const againOutput = capture();
      expect(
        await rotateKeysCommand(context(), { batchSize: 10 }, againOutput),
      ).toBe(0);
      expect(againOutput.stdout).toContain(
        `Every stored secret is under the primary key ${primary}.\n`,
      );
      expect(againOutput.stdout).toContain(
        `Key id(s) ${old} can now be removed from FERNET_KEYS.\n`,
      );
    });
  });
});
