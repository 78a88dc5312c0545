import { Fernet, keyIdOf } from './fernet';
import { FernetKeyring } from './fernet-keyring';
import { InvalidFernetToken } from './invalid-fernet-token.error';

function timestampOf(token: string): bigint {
  return Buffer.from(token, 'base64url').readBigUInt64BE(1);
}

function ivOf(token: string): string {
  return Buffer.from(token, 'base64url').subarray(9, 25).toString('hex');
}

function withOneBitFlipped(token: string): string {
  const bytes = Buffer.from(token, 'base64url');
  bytes[40] ^= 1;
  return bytes.toString('base64url');
}

describe(FernetKeyring.name, () => {
  const primaryKey = Fernet.generateKey();
  const oldKey = Fernet.generateKey();
  const olderKey = Fernet.generateKey();
  const primary = new Fernet(primaryKey);
  const old = new Fernet(oldKey);
  const older = new Fernet(olderKey);
  const stranger = new Fernet(Fernet.generateKey());
  const sut = new FernetKeyring([primaryKey, oldKey, olderKey]);

  describe('construction', () => {
    it('needs at least one key', () => {
      expect(() => new FernetKeyring([])).toThrow(
        'FernetKeyring needs at least one key',
      );
    });

    it('names a malformed key by its position, never by its value', () => {
      const malformed = primaryKey.slice(0, 40);
      const construct = () => new FernetKeyring([primaryKey, malformed]);

      expect(construct).toThrow(
        /^Fernet key #2 of 2 must be 32 bytes in url-safe base64/,
      );
      expect(construct).toThrow(
        expect.objectContaining({
          message: expect.not.stringContaining(malformed),
        }),
      );
    });

    it('lists the key ids in the order given, the primary first', () => {
      expect(sut.keyIds).toEqual([
        keyIdOf(primaryKey),
        keyIdOf(oldKey),
        keyIdOf(olderKey),
      ]);
      expect(sut.primaryKeyId).toBe(primary.keyId);
      expect(Object.isFrozen(sut.keyIds)).toBe(true);
    });
  });

  describe('encrypt', () => {
    it('encrypts with the primary key only', () => {
      const token = sut.encrypt('secret');

      expect(primary.decrypt(token).toString()).toBe('secret');
      expect(() => old.decrypt(token)).toThrow(InvalidFernetToken);
    });

    it('writes the same token as the primary Fernet for the same time and IV', () => {
      const options = { now: 1_700_000_000, iv: Buffer.alloc(16, 9) };

      expect(sut.encrypt('secret', options)).toBe(
        primary.encrypt('secret', options),
      );
    });
  });

  describe('decrypt', () => {
    it.each([
      ['the primary key', primary],
      ['an old key', old],
      ['the oldest key', older],
    ])('decrypts a token under %s and names that key', (_, fernet) => {
      const token = fernet.encrypt('secret');

      expect(sut.decrypt(token).toString()).toBe('secret');
      expect(sut.decryptWithKeyId(token)).toEqual({
        plaintext: Buffer.from('secret'),
        keyId: fernet.keyId,
      });
    });

    it('refuses a token under a key it does not hold', () => {
      const token = stranger.encrypt('secret');

      expect(() => sut.decrypt(token)).toThrow(InvalidFernetToken);
      expect(() => sut.decryptWithKeyId(token)).toThrow(InvalidFernetToken);
    });

    it('applies the TTL whichever key signed the token', () => {
      const token = older.encrypt('secret', { now: 1_700_000_000 });

      expect(
        sut.decrypt(token, { ttlSeconds: 60, now: 1_700_000_060 }).toString(),
      ).toBe('secret');
      expect(() =>
        sut.decrypt(token, { ttlSeconds: 60, now: 1_700_000_061 }),
      ).toThrow(InvalidFernetToken);
    });
  });

  describe('rotate', () => {
    it('re-encrypts a token under the primary key, keeping its plaintext and timestamp', () => {
      const token = older.encrypt(Buffer.from([0, 255, 1, 254]), {
        now: 499_162_800,
      });

      const rotated = sut.rotate(token);

      expect(primary.decrypt(rotated)).toEqual(Buffer.from([0, 255, 1, 254]));
      expect(timestampOf(rotated)).toBe(499_162_800n);
      expect(() => older.decrypt(rotated)).toThrow(InvalidFernetToken);
      expect(sut.decryptWithKeyId(rotated).keyId).toBe(sut.primaryKeyId);
    });

    it('draws a fresh IV, even for a token already under the primary key', () => {
      const token = primary.encrypt('secret', { now: 1_700_000_000 });

      const rotated = sut.rotate(token);

      expect(ivOf(rotated)).not.toBe(ivOf(token));
      expect(timestampOf(rotated)).toBe(1_700_000_000n);
      expect(primary.decrypt(rotated).toString()).toBe('secret');
    });

    it('rotates however old the token is: no TTL applies, as in Python', () => {
      const ancient = old.encrypt('secret', { now: 0 });

      expect(timestampOf(sut.rotate(ancient))).toBe(0n);
    });

    it.each([
      ['under a key it does not hold', stranger.encrypt('secret')],
      ['that is malformed', 'not-a-token'],
      ['that was tampered with', withOneBitFlipped(old.encrypt('secret'))],
    ])('refuses a token %s', (_, token) => {
      expect(() => sut.rotate(token)).toThrow(InvalidFernetToken);
    });
  });
});
