import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imageNodeOptions } from './image-command.cjs';

describe('imageNodeOptions', () => {
  let folder: string;
  beforeEach(() => (folder = mkdtempSync(join(tmpdir(), 'image-command-'))));
  afterEach(() => rmSync(folder, { recursive: true, force: true }));
  const dockerfile = (text: string) => {
    const path = join(folder, 'Dockerfile');
    writeFileSync(path, text);
    return path;
  };

  it("reads the API image's heap options from Dockerfile.api", () => {
    const options = imageNodeOptions(
      join(__dirname, '../../../../Dockerfile.api'),
    );
    expect(options).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^--max-old-space-size=\d+$/),
      ]),
    );
  });

  it.each([
    [
      'the final stage, after the sandbox',
      'FROM a AS sandbox\nCMD ["node", "main.js"]\nFROM b AS api\nCMD ["node", "--x=1", "--y", "main.js"]\n',
    ],
    [
      'the command, not the health check’s',
      'FROM b\nHEALTHCHECK --interval=15s \\\n  CMD ["node", "-e", "main.js"]\n# CMD ["node", "--old", "main.js"]\nCMD ["node", "--x=1", "--y", "main.js"]\n',
    ],
    [
      'Windows line endings and an indented, lower-case instruction',
      'FROM b\r\n  cmd ["node", "--x=1", "--y", "main.js"]\r\n',
    ],
  ])('takes %s', (_case, text) => {
    expect(imageNodeOptions(dockerfile(text))).toEqual(['--x=1', '--y']);
  });

  it.each([
    ['no CMD', 'FROM a\n'],
    [
      'a final stage without one (not the earlier stage’s)',
      'FROM a\nCMD ["node", "main.js"]\nFROM b\nUSER node\n',
    ],
    ['a shell form', 'FROM a\nCMD node main.js\n'],
    ['another program', 'FROM a\nCMD ["npm", "start"]\n'],
    ['another file', 'FROM a\nCMD ["node", "server.js"]\n'],
  ])('refuses %s, naming what it found', (_case, text) => {
    expect(() => imageNodeOptions(dockerfile(text))).toThrow(
      /final stage's CMD must be an exec form/,
    );
  });
});
