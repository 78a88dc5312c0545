/*
 * Cross-checks with the `fernet` npm package (0.4.0), a second implementation of the spec.
 * It is used here only: it patches String.prototype (contained by Jest's per-file context),
 * keeps a module-wide secret, reads and writes UTF-8 text only, and applies a 60-second TTL
 * unless told `ttl: 0`, which every call below does.
 */
import fc from 'fast-check';
import { Fernet } from './fernet';

interface NpmFernetSecret {
  readonly signingKeyHex: string;
}

interface NpmFernetToken {
  encode(message: string): string;
  decode(token?: string): string;
}

interface NpmFernetModule {
  Secret: new (key: string) => NpmFernetSecret;
  Token: new (options: {
    secret: NpmFernetSecret;
    ttl: number;
    token?: string;
    time?: Date;
    iv?: number[];
  }) => NpmFernetToken;
}

/** Any Unicode code point but a lone surrogate: the package handles text only. */
const texts = fc.string({
  unit: fc
    .integer({ min: 0, max: 0x10ffff - 0x800 })
    .map((n) => String.fromCodePoint(n < 0xd800 ? n : n + 0x800)),
  maxLength: 120,
});

describe(`${Fernet.name} interoperability with the fernet npm package`, () => {
  const key = Fernet.generateKey();
  const sut = new Fernet(key);
  let npmFernet: NpmFernetModule;
  let npmSecret: NpmFernetSecret;

  beforeAll(() => {
    npmFernet = jest.requireActual<NpmFernetModule>('fernet');
    npmSecret = new npmFernet.Secret(key);
  });

  // The package stamps the current time when told 0, hence a minimum of 1.
  it('decrypts tokens the package encrypted, keeping their timestamps', () => {
    fc.assert(
      fc.property(
        texts,
        fc.integer({ min: 1, max: 2 ** 40 }),
        (text, seconds) => {
          const token = new npmFernet.Token({
            secret: npmSecret,
            ttl: 0,
            time: new Date(seconds * 1000),
          }).encode(text);

          expect(sut.decrypt(token).toString('utf8')).toBe(text);
          expect(Buffer.from(token, 'base64url').readBigUInt64BE(1)).toBe(
            BigInt(seconds),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('writes tokens the package decrypts', () => {
    fc.assert(
      fc.property(texts, (text) => {
        const token = sut.encrypt(text);

        expect(
          new npmFernet.Token({ secret: npmSecret, ttl: 0, token }).decode(),
        ).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('writes the same token as the package for the spec vector', () => {
    const specKey = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';
    const iv = Buffer.from([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    ]);
    const now = Date.parse('1985-10-26T01:20:00-07:00') / 1000;
    // The package reads its `iv` option's indices, not its values: only 0..15 in order works.
    const npmToken = new npmFernet.Token({
      secret: new npmFernet.Secret(specKey),
      ttl: 0,
      time: new Date(now * 1000),
      iv: [...iv],
    });

    expect(new Fernet(specKey).encrypt('hello', { now, iv })).toBe(
      npmToken.encode('hello'),
    );
  });
});
