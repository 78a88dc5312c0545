import { AppOutput, runSandboxApp } from './run-sandbox';

function recorder(): AppOutput & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    out: (line) => lines.push(line),
    err: (line) => errors.push(line),
  };
}

describe(runSandboxApp.name, () => {
  it('starts from the environment and prints its URL', async () => {
    const output = recorder();

    const sut = await runSandboxApp(
      { SANDBOX_PORT: '0', SANDBOX_EXPIRES_IN: '60' },
      output,
    );
    try {
      expect(sut).toBeDefined();
      expect(output.lines).toEqual([
        expect.stringMatching(
          /^LWA sandbox listening on http:\/\/127\.0\.0\.1:\d+ /,
        ),
      ]);
      expect((await fetch(`${sut?.url ?? ''}/__sandbox/health`)).status).toBe(
        200,
      );
      expect(sut?.settings().accessTokenLifetimeSeconds).toBe(60);
      // The Ads API stand-in is served too: refused without a token, not "no route".
      expect((await fetch(`${sut?.url ?? ''}/dsp/advertisers`)).status).toBe(
        401,
      );
    } finally {
      await sut?.close();
    }
  });

  it('says why it cannot start: bad environment, production, port in use', async () => {
    const first = await runSandboxApp({ SANDBOX_PORT: '0' }, recorder());
    const badEnv = recorder();
    const production = recorder();
    const portTaken = recorder();
    try {
      expect(
        await runSandboxApp({ SANDBOX_PORT: 'x' }, badEnv),
      ).toBeUndefined();
      expect(
        await runSandboxApp({ NODE_ENV: 'production' }, production),
      ).toBeUndefined();
      expect(
        await runSandboxApp({ SANDBOX_PORT: String(first?.port) }, portTaken),
      ).toBeUndefined();
    } finally {
      await first?.close();
    }

    expect(badEnv.errors).toEqual([expect.stringContaining('SANDBOX_PORT')]);
    expect(production.errors).toEqual([
      expect.stringContaining('NODE_ENV=production'),
    ]);
    expect(portTaken.errors).toEqual([
      expect.stringMatching(
        /^lwa-sandbox: cannot start on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
      ),
    ]);
  });
});
