import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstFolderClosedTo, foldersDownTo } from './embedded-postgres';

describe('embedded PostgreSQL run as root: can the postgres user reach its files?', () => {
  it('lists every folder from the root down to a path', () => {
    expect(foldersDownTo('/root/private/atk')).toEqual([
      '/',
      '/root',
      '/root/private',
      '/root/private/atk',
    ]);
    expect(foldersDownTo('/')).toEqual(['/']);
  });

  // Asking as another user needs root (the case this check is for); elsewhere it is moot.
  const asRoot = process.getuid?.() === 0 ? it : it.skip;

  asRoot(
    'names the first folder another user cannot enter (a private folder), and none when all are open',
    async () => {
      const parent = await mkdtemp(join(tmpdir(), 'atk-reach-'));
      try {
        const open = join(parent, 'open', 'node_modules', 'bin');
        const closed = join(parent, 'private');
        await mkdir(open, { recursive: true });
        await mkdir(join(closed, 'atk', '.data'), { recursive: true });
        await chmod(parent, 0o755);
        await chmod(join(parent, 'open'), 0o755);
        await chmod(closed, 0o700);

        // A user that does not exist yet is asked as `nobody`, governed by the same "others" bits.
        expect(
          await firstFolderClosedTo('atk-no-such-user', [open]),
        ).toBeUndefined();
        expect(
          await firstFolderClosedTo('atk-no-such-user', [
            open,
            join(closed, 'atk', '.data'),
          ]),
        ).toBe(closed);

        await chmod(closed, 0o711);
        expect(
          await firstFolderClosedTo('atk-no-such-user', [
            open,
            join(closed, 'atk', '.data'),
          ]),
        ).toBeUndefined();
      } finally {
        await rm(parent, { recursive: true, force: true });
      }
    },
  );
});
