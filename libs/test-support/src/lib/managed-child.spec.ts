import { ManagedChild } from './managed-child';

/** `node -e <script>`: a child that needs nothing but node. */
const nodeChild = (script: string, keepLines?: number) =>
  new ManagedChild('test child', process.execPath, ['-e', script], {
    keepLines,
  });

describe('ManagedChild', () => {
  it('keeps the last lines of stdout and stderr and tells stdout lines apart', async () => {
    const child = nodeChild(
      `for (let i = 1; i <= 5; i++) console.log('out ' + i); console.error('err');`,
      3,
    );
    const stdout: string[] = [];
    const all: string[] = [];
    child.onStdoutLine((line) => stdout.push(line));
    child.onLine((line) => all.push(line));

    // 'close' comes after the last output is read ('exit' may come before it).
    await new Promise((resolve) => child.process.once('close', resolve));

    expect(child.exitStatus).toEqual({ code: 0, signal: null });
    expect(stdout).toEqual(['out 1', 'out 2', 'out 3', 'out 4', 'out 5']);
    expect(all).toHaveLength(6);
    expect(child.output().split('\n')).toHaveLength(3);
    expect(child.output()).toContain('err');
    expect(child.hasExited).toBe(true);
  });

  it('stop() ends a child that ignores SIGTERM with SIGKILL after the grace time', async () => {
    const child = nodeChild(
      `process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000);`,
    );
    await new Promise<void>((resolve) =>
      child.onStdoutLine((line) => line === 'ready' && resolve()),
    );

    await child.stop(300);

    expect(child.exitStatus).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('stop() lets a child that honours SIGTERM exit on its own', async () => {
    const child = nodeChild(
      `process.on('SIGTERM', () => process.exit(0)); console.log('ready'); setInterval(() => {}, 1000);`,
    );
    await new Promise<void>((resolve) =>
      child.onStdoutLine((line) => line === 'ready' && resolve()),
    );

    await child.stop(10_000);

    expect(child.exitStatus).toEqual({ code: 0, signal: null });
  });

  it('reports a command that cannot start as exited', async () => {
    const child = new ManagedChild('missing', '/nonexistent/command', []);

    expect(await child.exited).toEqual({ code: -1, signal: null });
    expect(child.output()).toContain('spawn failed');
  });
});
