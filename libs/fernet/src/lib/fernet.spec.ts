import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { Fernet, keyIdOf } from './fernet';
import { InvalidFernetToken } from './invalid-fernet-token.error';

interface GenerateVector {
  readonly token: string;
  readonly now: string;
  readonly iv: readonly number[];
  readonly src: string;
  readonly secret: string;
}

interface VerifyVector {
  readonly token: string;
  readonly now: string;
  readonly ttl_sec: number;
  readonly src: string;
  readonly secret: string;
}

interface InvalidVector {
  readonly desc: string;
  readonly token: string;
  readonly now: string;
  readonly ttl_sec: number;
  readonly secret: string;
}

/** The spec's vectors, copied from github.com/fernet/spec (see test-vectors/README.md). */
function readVectors<T>(name: 'generate' | 'verify' | 'invalid'): T[] {
  const path = join(__dirname, '..', 'test-vectors', `${name}.json`);
  return JSON.parse(readFileSync(path, 'utf8')) as T[];
}

function unixSeconds(isoDate: string): number {
  return Date.parse(isoDate) / 1000;
}

function decodeToken(token: string): Buffer {
  return Buffer.from(token, 'base64url');
}

/** Url-safe base64 with padding, as Python writes tokens. */
function encodeToken(bytes: Buffer): string {
  const unpadded = bytes.toString('base64url');
  return unpadded + '='.repeat((4 - (unpadded.length % 4)) % 4);
}

function decryptOrRefusal(
  sut: Fernet,
  token: string,
): Buffer | InvalidFernetToken {
  try {
    return sut.decrypt(token);
  } catch (error) {
    if (error instanceof InvalidFernetToken) {
      return error;
    }
    throw error;
  }
}

/** Any Unicode code point but a lone surrogate (fast-check's own 'binary' unit takes 2 s to warm up). */
const codePoints = fc
  .integer({ min: 0, max: 0x10ffff - 0x800 })
  .map((n) => String.fromCodePoint(n < 0xd800 ? n : n + 0x800));

const SPEC_KEY = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';
const SPEC_TOKEN =
  'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==';
const SPEC_IV = Buffer.from([
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
]);
const SPEC_NOW = unixSeconds('1985-10-26T01:20:00-07:00');

describe(Fernet.name, () => {
  describe('the spec vectors', () => {
    it.each(readVectors<GenerateVector>('generate'))(
      'encrypts "$src" into the spec token $token',
      ({ token, now, iv, src, secret }) => {
        const sut = new Fernet(secret);

        expect(
          sut.encrypt(src, { now: unixSeconds(now), iv: Buffer.from(iv) }),
        ).toBe(token);
      },
    );

    it.each(readVectors<VerifyVector>('verify'))(
      'decrypts $token into "$src" within its TTL',
      ({ token, now, ttl_sec, src, secret }) => {
        const sut = new Fernet(secret);

        expect(
          sut.decrypt(token, { ttlSeconds: ttl_sec, now: unixSeconds(now) }),
        ).toEqual(Buffer.from(src));
      },
    );

    it.each(readVectors<InvalidVector>('invalid'))(
      'refuses a token with $desc',
      ({ token, now, ttl_sec, secret }) => {
        const sut = new Fernet(secret);

        expect(() =>
          sut.decrypt(token, { ttlSeconds: ttl_sec, now: unixSeconds(now) }),
        ).toThrow(InvalidFernetToken);
      },
    );

    it('refuses every invalid vector with the same message, which says nothing about why', () => {
      const messages = readVectors<InvalidVector>('invalid').map(
        ({ token, now, ttl_sec, secret }) => {
          try {
            new Fernet(secret).decrypt(token, {
              ttlSeconds: ttl_sec,
              now: unixSeconds(now),
            });
            return 'decrypted';
          } catch (error) {
            return error instanceof Error
              ? `${error.name}: ${error.message}`
              : String(error);
          }
        },
      );

      expect(new Set(messages)).toEqual(
        new Set(['InvalidFernetToken: Invalid Fernet token']),
      );
    });
  });

  describe('keys', () => {
    it('accepts a key with or without its padding, as the same key', () => {
      const padded = new Fernet(SPEC_KEY);
      const unpadded = new Fernet(SPEC_KEY.replace(/=$/, ''));

      expect(unpadded.encrypt('hello', { now: SPEC_NOW, iv: SPEC_IV })).toBe(
        SPEC_TOKEN,
      );
      expect(unpadded.keyId).toBe(padded.keyId);
    });

    it.each([
      ['empty', ''],
      ['31 bytes long', Buffer.alloc(31, 7).toString('base64url')],
      ['33 bytes long', Buffer.alloc(33, 7).toString('base64url')],
      [
        'in the standard base64 alphabet',
        Buffer.alloc(32, 0xfb).toString('base64'),
      ],
      ['padded twice', `${SPEC_KEY}=`],
      ['preceded by a space', ` ${SPEC_KEY}`],
      ['followed by a line break', `${SPEC_KEY}\n`],
      ['holding a character outside base64', `${SPEC_KEY.slice(0, 42)}%=`],
    ])('refuses a key that is %s, without repeating it', (_, key) => {
      const construct = () => new Fernet(key);

      expect(construct).toThrow(
        /Fernet key must be 32 bytes in url-safe base64/,
      );
      expect(construct).toThrow(
        expect.objectContaining({
          message: expect.not.stringContaining(key || '\u0000'),
        }),
      );
    });

    it('refuses a key that is not a string', () => {
      expect(() => new Fernet(Buffer.alloc(32) as unknown as string)).toThrow(
        TypeError,
      );
    });

    it('generates padded url-safe keys of 32 random bytes that it accepts', () => {
      const keys = Array.from({ length: 20 }, () => Fernet.generateKey());

      for (const key of keys) {
        expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
        expect(Buffer.from(key, 'base64url')).toHaveLength(32);
        expect(
          new Fernet(key).decrypt(new Fernet(key).encrypt('ok')).toString(),
        ).toBe('ok');
      }
      expect(new Set(keys).size).toBe(keys.length);
    });

    it('identifies a key by the first 8 bytes of SHA-256 over its raw bytes, in hex', () => {
      const expected = createHash('sha256')
        .update(Buffer.from(SPEC_KEY, 'base64url'))
        .digest('hex')
        .slice(0, 16);

      expect(keyIdOf(SPEC_KEY)).toBe(expected);
      expect(new Fernet(SPEC_KEY).keyId).toBe(expected);
      expect(keyIdOf(Fernet.generateKey())).not.toBe(expected);
    });

    it('keeps the key out of logs and JSON', () => {
      const sut = new Fernet(SPEC_KEY);
      const rawKeyHex = Buffer.from(SPEC_KEY, 'base64url').toString('hex');

      for (const shown of [
        inspect(sut, { showHidden: true, depth: 5 }),
        JSON.stringify(sut),
      ]) {
        expect(shown).not.toContain(SPEC_KEY.slice(0, 20));
        expect(shown).not.toContain(rawKeyHex.slice(0, 16));
        expect(shown).not.toContain(rawKeyHex.slice(32, 48));
      }
    });
  });

  describe('encrypt', () => {
    const sut = new Fernet(SPEC_KEY);

    it('writes version 0x80, the timestamp, the IV, whole AES blocks and a 32-byte HMAC', () => {
      const token = sut.encrypt(Buffer.alloc(20), {
        now: 1_700_000_000,
        iv: SPEC_IV,
      });
      const bytes = decodeToken(token);

      expect(token).toMatch(/^[A-Za-z0-9_-]+={0,2}$/);
      expect(token.length % 4).toBe(0);
      expect(bytes[0]).toBe(0x80);
      expect(bytes.readBigUInt64BE(1)).toBe(1_700_000_000n);
      expect(bytes.subarray(9, 25)).toEqual(SPEC_IV);
      expect(bytes).toHaveLength(1 + 8 + 16 + 32 + 32);
    });

    it('stamps the current time by default', () => {
      const before = Math.floor(Date.now() / 1000);
      const timestamp = decodeToken(sut.encrypt('x')).readBigUInt64BE(1);
      const after = Math.floor(Date.now() / 1000);

      expect(timestamp).toBeGreaterThanOrEqual(BigInt(before));
      expect(timestamp).toBeLessThanOrEqual(BigInt(after));
    });

    it('draws a fresh IV for every token, across refills of its IV pool (256 IVs each)', () => {
      const ivs = Array.from({ length: 1000 }, () =>
        decodeToken(sut.encrypt('x', { now: SPEC_NOW }))
          .subarray(9, 25)
          .toString('hex'),
      );

      expect(new Set(ivs).size).toBe(ivs.length);
    });

    it('encrypts a string as UTF-8', () => {
      const text = 'Ünïcødé 🔑';

      expect(sut.encrypt(text, { now: SPEC_NOW, iv: SPEC_IV })).toBe(
        sut.encrypt(Buffer.from(text, 'utf8'), { now: SPEC_NOW, iv: SPEC_IV }),
      );
    });

    it.each([
      ['an IV of 15 bytes', { iv: Buffer.alloc(15) }],
      ['an IV of 17 bytes', { iv: Buffer.alloc(17) }],
      ['a fractional time', { now: 1.5 }],
      ['a negative time', { now: -1 }],
      ['a time that is not a number', { now: Number.NaN }],
    ])('refuses %s', (_, options) => {
      expect(() => sut.encrypt('x', options)).toThrow(RangeError);
    });

    it('refuses data that is neither a Buffer nor a string', () => {
      expect(() => sut.encrypt(42 as unknown as string)).toThrow(TypeError);
    });
  });

  describe('decrypt', () => {
    const sut = new Fernet(SPEC_KEY);

    it('accepts a token without its padding', () => {
      expect(sut.decrypt(SPEC_TOKEN.replace(/=+$/, '')).toString()).toBe(
        'hello',
      );
    });

    it('returns exactly the plaintext, for every length around the block size', () => {
      for (let length = 0; length <= 48; length++) {
        const plaintext = Buffer.alloc(length, length);

        expect(sut.decrypt(sut.encrypt(plaintext))).toEqual(plaintext);
      }
    });

    it.each([
      [
        'the standard base64 alphabet',
        SPEC_TOKEN.replace(/_/g, '/').replace(/-/g, '+'),
      ],
      [
        'a line break inside',
        `${SPEC_TOKEN.slice(0, 40)}\n${SPEC_TOKEN.slice(40)}`,
      ],
      ['a trailing space', `${SPEC_TOKEN} `],
      [
        'padding in the middle',
        `${SPEC_TOKEN.slice(0, 40)}==${SPEC_TOKEN.slice(40)}`,
      ],
      ['three padding characters', `${SPEC_TOKEN.replace(/=+$/, '')}===`],
      ['too little padding', SPEC_TOKEN.slice(0, -1)],
      ['one stray base64 character', SPEC_TOKEN.replace(/=+$/, 'A')],
      ['an empty string', ''],
      [
        'version 0x81',
        encodeToken(
          Buffer.from([0x81, ...decodeToken(SPEC_TOKEN).subarray(1)]),
        ),
      ],
      ['another key', new Fernet(Fernet.generateKey()).encrypt('hello')],
    ])('refuses a token with %s', (_, token) => {
      expect(() => sut.decrypt(token)).toThrow(InvalidFernetToken);
    });

    it('refuses a token that is not a string', () => {
      expect(() => sut.decrypt(undefined as unknown as string)).toThrow(
        TypeError,
      );
    });

    it.each([
      ['a fractional TTL', { ttlSeconds: 0.5 }],
      ['a negative TTL', { ttlSeconds: -1 }],
      ['a fractional time', { ttlSeconds: 60, now: Date.now() / 1000 }],
    ])('refuses %s as a bug, before looking at the token', (_, options) => {
      expect(() => sut.decrypt('not a token', options)).toThrow(RangeError);
    });
  });

  describe('time checks (as Python: expired when timestamp + ttl < now, ahead when now + 60 < timestamp)', () => {
    const sut = new Fernet(SPEC_KEY);
    const issuedAt = 1_700_000_000;
    const token = sut.encrypt('hello', { now: issuedAt });

    it.each([
      ['one second before the TTL ends', 60, issuedAt + 59, true],
      ['exactly when the TTL ends', 60, issuedAt + 60, true],
      ['one second after the TTL ends', 60, issuedAt + 61, false],
      ['at its own second with a TTL of 0', 0, issuedAt, true],
      ['one second later with a TTL of 0', 0, issuedAt + 1, false],
      ['59 seconds ahead of the clock', 60, issuedAt - 59, true],
      ['exactly 60 seconds ahead of the clock', 60, issuedAt - 60, true],
      ['61 seconds ahead of the clock', 60, issuedAt - 61, false],
      [
        '61 seconds ahead of the clock, whatever the TTL',
        86_400,
        issuedAt - 61,
        false,
      ],
    ])('%s: ttl %i s at %i ⇒ accepted: %s', (_, ttlSeconds, now, accepted) => {
      const decrypt = () => sut.decrypt(token, { ttlSeconds, now });

      if (accepted) {
        expect(decrypt().toString()).toBe('hello');
      } else {
        expect(decrypt).toThrow(InvalidFernetToken);
      }
    });

    it('makes no time check without a TTL, as Python does', () => {
      const ancient = sut.encrypt('old', { now: 0 });
      const farAhead = sut.encrypt('ahead', {
        now: Math.floor(Date.now() / 1000) + 86_400,
      });

      expect(sut.decrypt(ancient).toString()).toBe('old');
      expect(sut.decrypt(farAhead, { now: issuedAt }).toString()).toBe('ahead');
    });

    it('checks a TTL against the current time by default', () => {
      const now = Math.floor(Date.now() / 1000);

      expect(
        sut.decrypt(sut.encrypt('fresh'), { ttlSeconds: 60 }).toString(),
      ).toBe('fresh');
      expect(() =>
        sut.decrypt(sut.encrypt('stale', { now: now - 3600 }), {
          ttlSeconds: 60,
        }),
      ).toThrow(InvalidFernetToken);
      expect(() =>
        sut.decrypt(sut.encrypt('ahead', { now: now + 3600 }), {
          ttlSeconds: 60,
        }),
      ).toThrow(InvalidFernetToken);
    });
  });

  describe('properties', () => {
    const sut = new Fernet(Fernet.generateKey());
    const payloads = fc
      .uint8Array({ maxLength: 600 })
      .map((bytes) => Buffer.from(bytes));
    const timestamps = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
    const ivs = fc
      .uint8Array({ minLength: 16, maxLength: 16 })
      .map((bytes) => Buffer.from(bytes));

    it('decrypts what it encrypted, for any bytes, time and IV', () => {
      fc.assert(
        fc.property(payloads, timestamps, ivs, (payload, now, iv) => {
          expect(sut.decrypt(sut.encrypt(payload, { now, iv }))).toEqual(
            payload,
          );
        }),
        { numRuns: 500 },
      );
    });

    it('decrypts what it encrypted, for any string', () => {
      fc.assert(
        fc.property(fc.string({ unit: codePoints, maxLength: 200 }), (text) => {
          expect(sut.decrypt(sut.encrypt(text)).toString('utf8')).toBe(text);
        }),
        { numRuns: 500 },
      );
    });

    it('refuses a token with any single bit flipped', () => {
      fc.assert(
        fc.property(payloads, fc.nat(), (payload, bitSeed) => {
          const bytes = decodeToken(sut.encrypt(payload));
          const bit = bitSeed % (bytes.length * 8);
          bytes[bit >> 3] ^= 1 << (bit & 7);

          expect(decryptOrRefusal(sut, encodeToken(bytes))).toBeInstanceOf(
            InvalidFernetToken,
          );
        }),
        { numRuns: 2000 },
      );
    });

    it('refuses any truncation of a token, in bytes or in characters', () => {
      fc.assert(
        fc.property(payloads, fc.nat(), (payload, cutSeed) => {
          const token = sut.encrypt(payload);
          const bytes = decodeToken(token);
          const unpadded = token.replace(/=+$/, '');

          expect(
            decryptOrRefusal(
              sut,
              encodeToken(bytes.subarray(0, cutSeed % bytes.length)),
            ),
          ).toBeInstanceOf(InvalidFernetToken);
          expect(
            decryptOrRefusal(sut, unpadded.slice(0, cutSeed % unpadded.length)),
          ).toBeInstanceOf(InvalidFernetToken);
        }),
        { numRuns: 1000 },
      );
    });
  });
});
