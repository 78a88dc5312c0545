/**
 * The LWA sandbox in a process of its own, for the proxy phase: there the sandbox stands in for
 * the Ads API under load, and in the bench process it would share an event loop with autocannon
 * (the client), so both the direct calls and the keeper's would be measured partly as the
 * client's waits. Prints `listening {"url","clientId","clientSecret"}` when ready; the control
 * API (`/__sandbox/…`) issues tokens and changes settings.
 */
import { startLwaSandbox } from '@keeper/lwa-sandbox';

const sandbox = await startLwaSandbox({ port: 0, requestLogLimit: 1_000 });
process.stdout.write(
  `listening ${JSON.stringify({
    url: sandbox.url,
    clientId: sandbox.clientId,
    clientSecret: sandbox.clientSecret,
  })}\n`,
);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    void sandbox.close().finally(() => process.exit(0));
  });
