/*
 * Cross-checks with Python's `cryptography.fernet`, the reference implementation, in both
 * directions: one python3 process per direction carries thousands of tokens as JSON.
 * Runs wherever `python3 -c 'import cryptography'` works; elsewhere it is skipped loudly,
 * and fails when CI=true.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { Fernet } from './fernet';
import { FernetKeyring } from './fernet-keyring';
import { InvalidFernetToken } from './invalid-fernet-token.error';

const PYTHON = 'python3';
const SCRIPT = join(__dirname, 'fernet-interop.py');

interface EncryptAndRotateRequest {
  readonly op: 'encrypt-and-rotate';
  readonly primaryKey: string;
  readonly oldKey: string;
  readonly payloads: readonly string[];
  readonly timestamps: readonly string[];
  readonly tokensToRotate: readonly string[];
}

interface EncryptAndRotateResponse {
  readonly tokens: string[];
  readonly rotated: string[];
}

interface DecryptItem {
  readonly token: string;
  readonly ttl: number | null;
  readonly now: number | null;
}

interface DecryptRequest {
  readonly op: 'decrypt';
  readonly key: string;
  readonly items: readonly DecryptItem[];
}

/** A decrypted token as both sides report it, or null for a refused one. */
type Decryption = {
  readonly plaintext: string;
  readonly timestamp: string;
} | null;

interface DecryptResponse {
  readonly results: Decryption[];
}

function probePython(): {
  readonly available: boolean;
  readonly reason: string;
} {
  const probe = spawnSync(PYTHON, ['-c', 'import cryptography.fernet'], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (probe.error) {
    return {
      available: false,
      reason: `${PYTHON} could not run (${probe.error.message})`,
    };
  }
  if (probe.status !== 0) {
    return {
      available: false,
      reason: `${PYTHON} cannot import cryptography: ${probe.stderr.trim()}`,
    };
  }
  return { available: true, reason: '' };
}

function runPython(request: EncryptAndRotateRequest): EncryptAndRotateResponse;
function runPython(request: DecryptRequest): DecryptResponse;
function runPython(request: EncryptAndRotateRequest | DecryptRequest): unknown {
  const run = spawnSync(PYTHON, [SCRIPT], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 60_000,
  });
  if (run.error || run.status !== 0) {
    throw new Error(
      `${PYTHON} ${SCRIPT} failed: ${run.error?.message ?? run.stderr}`,
    );
  }
  return JSON.parse(run.stdout);
}

function timestampOf(token: string): string {
  return Buffer.from(token, 'base64url').readBigUInt64BE(1).toString();
}

/** Url-safe base64 with padding: Python refuses tokens without it. */
function encodeToken(bytes: Buffer): string {
  const unpadded = bytes.toString('base64url');
  return unpadded + '='.repeat((4 - (unpadded.length % 4)) % 4);
}

function ourDecryption(
  sut: Fernet,
  { token, ttl, now }: DecryptItem,
): Decryption {
  try {
    const options =
      ttl === null || now === null ? {} : { ttlSeconds: ttl, now };
    return {
      plaintext: sut.decrypt(token, options).toString('base64'),
      timestamp: timestampOf(token),
    };
  } catch (error) {
    if (error instanceof InvalidFernetToken) {
      return null;
    }
    throw error;
  }
}

/** Any Unicode code point but a lone surrogate (fast-check's own 'binary' unit takes 2 s to warm up). */
const codePoints = fc
  .integer({ min: 0, max: 0x10ffff - 0x800 })
  .map((n) => String.fromCodePoint(n < 0xd800 ? n : n + 0x800));

/** Thousands of payloads: every length around the block size, then arbitrary bytes and text. */
function interopPayloads(): Buffer[] {
  const aroundBlocks = Array.from({ length: 50 }, (_, length) =>
    Buffer.alloc(length, 0xa5),
  );
  const bytes = fc.sample(fc.uint8Array({ maxLength: 700 }), {
    numRuns: 2500,
    seed: 2024,
  });
  const texts = fc.sample(fc.string({ unit: codePoints, maxLength: 80 }), {
    numRuns: 500,
    seed: 2025,
  });
  return [
    ...aroundBlocks,
    ...bytes.map((payload) => Buffer.from(payload)),
    ...texts.map((text) => Buffer.from(text, 'utf8')),
  ];
}

/** Unsigned 64-bit timestamps, as decimal strings; the extremes only Python can write. */
function interopTimestamps(count: number): string[] {
  const extremes = [
    '0',
    '1',
    '4294967296',
    '9007199254740993',
    '18446744073709551615',
  ];
  const ordinary = fc.sample(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), {
    numRuns: count,
    seed: 2026,
  });
  return Array.from(
    { length: count },
    (_, i) => extremes[i] ?? ordinary[i].toString(),
  );
}

const python = probePython();
const requiredByCi = process.env['CI'] === 'true';
if (!python.available && !requiredByCi) {
  console.warn(
    `SKIPPED: Fernet interoperability with Python's cryptography: ${python.reason}. ` +
      `Install it with: apt-get install -y python3-cryptography`,
  );
}

describe(`${Fernet.name} interoperability with Python's cryptography`, () => {
  if (!python.available) {
    const title = `needs ${PYTHON} with cryptography (${python.reason})`;
    if (requiredByCi) {
      it(`${title}, required when CI=true`, () => {
        throw new Error(
          `${python.reason}; install it with: apt-get install -y python3-cryptography`,
        );
      });
    } else {
      it.skip(title, () => undefined);
    }
    return;
  }

  const primaryKey = Fernet.generateKey();
  const oldKey = Fernet.generateKey();
  const primary = new Fernet(primaryKey);
  const old = new Fernet(oldKey);
  const sut = new FernetKeyring([primaryKey, oldKey]);

  const payloads = interopPayloads();
  const timestamps = interopTimestamps(payloads.length);
  const ourTokensUnderOldKey = payloads.map((payload, i) =>
    old.encrypt(payload, {
      now: Number(BigInt(timestamps[i]) % BigInt(Number.MAX_SAFE_INTEGER)),
    }),
  );

  /** Python → us: Python encrypts under the old key, and rotates our tokens to the primary. */
  let fromPython: EncryptAndRotateResponse;

  beforeAll(() => {
    fromPython = runPython({
      op: 'encrypt-and-rotate',
      primaryKey,
      oldKey,
      payloads: payloads.map((payload) => payload.toString('base64')),
      timestamps,
      tokensToRotate: ourTokensUnderOldKey,
    });
  });

  it(`decrypts ${payloads.length} tokens that Python encrypted, binary payloads included`, () => {
    const mismatches = fromPython.tokens.filter(
      (token, i) => !old.decrypt(token).equals(payloads[i]),
    );

    expect(fromPython.tokens).toHaveLength(payloads.length);
    expect(mismatches).toEqual([]);
    expect(fromPython.tokens.map(timestampOf)).toEqual(timestamps);
  });

  it(`decrypts ${payloads.length} of its tokens that Python's MultiFernet rotated`, () => {
    const mismatches = fromPython.rotated.filter(
      (token, i) =>
        !primary.decrypt(token).equals(payloads[i]) ||
        timestampOf(token) !== timestampOf(ourTokensUnderOldKey[i]),
    );

    expect(fromPython.rotated).toHaveLength(payloads.length);
    expect(mismatches).toEqual([]);
  });

  describe('us → Python', () => {
    const issuedAt = 1_700_000_000;
    const boundaryToken = primary.encrypt('boundary', { now: issuedAt });
    const items: DecryptItem[] = [];

    /** Filled in beforeAll: Python's verdicts, in the order of `items`. */
    let pythonResults: Decryption[];
    let sections: {
      ours: number;
      rotated: number;
      boundaries: number;
      tampered: number;
    };

    beforeAll(() => {
      const ours = payloads.map((payload, i) =>
        primary.encrypt(payload, {
          now: Number(BigInt(timestamps[i]) % 2n ** 40n),
        }),
      );
      const rotated = fromPython.tokens.map((token) => sut.rotate(token));
      const boundaries: DecryptItem[] = [];
      for (const ttl of [0, 1, 59, 60, 61, 3600]) {
        for (const offset of [
          -62,
          -61,
          -60,
          -59,
          0,
          1,
          ttl - 1,
          ttl,
          ttl + 1,
          ttl + 2,
        ]) {
          boundaries.push({
            token: boundaryToken,
            ttl,
            now: issuedAt + offset,
          });
        }
      }
      boundaries.push({
        token: primary.encrypt('ahead', { now: issuedAt + 10 ** 6 }),
        ttl: null,
        now: null,
      });
      const tampered = ours.slice(0, 300).flatMap((token, i) => {
        const bytes = Buffer.from(token, 'base64url');
        const flipped = Buffer.from(bytes);
        flipped[(i * 7919) % flipped.length] ^= 1 << i % 8;
        return [
          encodeToken(flipped),
          encodeToken(bytes.subarray(0, (i * 31) % bytes.length)),
        ];
      });

      const plain = (token: string): DecryptItem => ({
        token,
        ttl: null,
        now: null,
      });
      items.push(
        ...ours.map(plain),
        ...rotated.map(plain),
        ...boundaries,
        ...tampered.map(plain),
        plain(old.encrypt('under the old key')),
      );
      sections = {
        ours: ours.length,
        rotated: rotated.length,
        boundaries: boundaries.length,
        tampered: tampered.length,
      };
      pythonResults = runPython({
        op: 'decrypt',
        key: primaryKey,
        items,
      }).results;
    });

    it('lets Python decrypt every token it encrypted, binary payloads included', () => {
      const expected = payloads.map((payload, i) => ({
        plaintext: payload.toString('base64'),
        timestamp: (BigInt(timestamps[i]) % 2n ** 40n).toString(),
      }));

      expect(pythonResults.slice(0, sections.ours)).toEqual(expected);
    });

    it("lets Python decrypt every Python token it rotated, with Python's timestamps kept", () => {
      const start = sections.ours;
      const expected = payloads.map((payload, i) => ({
        plaintext: payload.toString('base64'),
        timestamp: timestamps[i],
      }));

      expect(pythonResults.slice(start, start + sections.rotated)).toEqual(
        expected,
      );
    });

    it('agrees with Python on every verdict: TTL and clock-skew boundaries, tampering, truncation, foreign keys', () => {
      const disagreements = items
        .map((item, i) => ({
          item,
          python: pythonResults[i],
          ours: ourDecryption(primary, item),
        }))
        .filter(
          ({ python: theirs, ours }) =>
            JSON.stringify(theirs) !== JSON.stringify(ours),
        );

      expect(disagreements).toEqual([]);
      expect(
        pythonResults.filter((result) => result === null).length,
      ).toBeGreaterThan(sections.tampered);
    });
  });
});
