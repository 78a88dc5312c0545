/**
 * Phase 1, in a process of its own: the `fernet` npm package patches String.prototype and keeps
 * module-wide state, which must not leak into the bench. Prints one JSON line.
 */
import { Fernet } from '@keeper/fernet';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const npmFernet = require('fernet') as typeof import('fernet');

const ROUNDS = Number(process.env.BENCH_FERNET_ROUNDS ?? 3);
const ROUND_MS = Number(process.env.BENCH_FERNET_ROUND_MS ?? 1_000);

// An LWA refresh token is "Atzr|IwEB…", a few hundred characters; 400 ASCII bytes here.
const payload = `Atzr|IwEB${randomBytes(400).toString('base64url')}`.slice(
  0,
  400,
);
const key = Fernet.generateKey();

const ours = new Fernet(key);
const secret = new npmFernet.Secret(key);

const oursRoundTrip = (): string =>
  ours.decrypt(ours.encrypt(payload)).toString('utf8');
// ttl: 0, or the package refuses tokens older than 60 s.
const npmRoundTrip = (): string =>
  new npmFernet.Token({
    secret,
    ttl: 0,
    token: new npmFernet.Token({ secret, ttl: 0 }).encode(payload),
  }).decode();

function check(): void {
  if (oursRoundTrip() !== payload)
    throw new Error('@keeper/fernet round trip changed the payload');
  if (npmRoundTrip() !== payload)
    throw new Error('fernet (npm) round trip changed the payload');
  // Each reads the other's tokens: the comparison is between equivalent implementations.
  const theirs = new npmFernet.Token({ secret, ttl: 0 }).encode(payload);
  if (ours.decrypt(theirs).toString('utf8') !== payload)
    throw new Error('@keeper/fernet cannot read an npm token');
  if (
    new npmFernet.Token({
      secret,
      ttl: 0,
      token: ours.encrypt(payload),
    }).decode() !== payload
  ) {
    throw new Error('fernet (npm) cannot read a @keeper/fernet token');
  }
}

/** Round trips per second over `ms`, in batches so the clock is read rarely. */
function measure(roundTrip: () => string, ms: number): number {
  let count = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 50; i += 1) roundTrip();
    count += 50;
    elapsed = performance.now() - started;
  }
  return (count / elapsed) * 1000;
}

check();
measure(oursRoundTrip, 300);
measure(npmRoundTrip, 300);
const oursRates: number[] = [];
const npmRates: number[] = [];
for (let round = 0; round < ROUNDS; round += 1) {
  // Alternate who goes first, so drift in the machine's load hits both alike.
  if (round % 2 === 0) {
    oursRates.push(measure(oursRoundTrip, ROUND_MS));
    npmRates.push(measure(npmRoundTrip, ROUND_MS));
  } else {
    npmRates.push(measure(npmRoundTrip, ROUND_MS));
    oursRates.push(measure(oursRoundTrip, ROUND_MS));
  }
}
process.stdout.write(
  `${JSON.stringify({ payloadBytes: Buffer.byteLength(payload), oursRates, npmRates })}\n`,
);
