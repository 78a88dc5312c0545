import {
  type FernetDecryptOptions,
  type FernetEncryptOptions,
  passesTimeCheck,
  plaintextBytes,
  timeCheckOf,
  tokenIv,
  tokenTimestamp,
} from './fernet-options';
import {
  deriveKeyMaterial,
  type FernetKeyMaterial,
  generateEncodedKey,
  keyIdOfEncodedKey,
  openToken,
  parseToken,
  sealToken,
} from './fernet-token';
import { InvalidFernetToken } from './invalid-fernet-token.error';

/**
 * Fernet symmetric encryption (https://github.com/fernet/spec) on node:crypto, token for token
 * compatible with Python's `cryptography.fernet.Fernet`.
 *
 * @example
 * const sut = new Fernet(Fernet.generateKey());
 * const token = sut.encrypt('refresh token');
 * sut.decrypt(token).toString('utf8'); // 'refresh token'
 */
export class Fernet {
  /** A private field, so that the key never shows in `console.log` or `JSON.stringify`. */
  readonly #key: FernetKeyMaterial;

  /**
   * @param key url-safe base64 of 32 random bytes, with or without the trailing `=`.
   * @throws Error when the key is malformed; the message never contains the key.
   */
  constructor(key: string) {
    this.#key = deriveKeyMaterial(key);
  }

  /** A new random key, url-safe base64 with padding (as Python's `generate_key`). */
  static generateKey(): string {
    return generateEncodedKey();
  }

  /** This key's id: see {@link keyIdOf}. */
  get keyId(): string {
    return this.#key.keyId;
  }

  /**
   * Encrypts and signs `data` (a string is encrypted as UTF-8).
   * @returns the token, url-safe base64 with padding.
   */
  encrypt(data: Buffer | string, options: FernetEncryptOptions = {}): string {
    return sealToken(
      this.#key,
      plaintextBytes(data),
      tokenTimestamp(options),
      tokenIv(options),
    );
  }

  /**
   * Verifies and decrypts a token (padding optional).
   * @throws InvalidFernetToken whatever the reason.
   */
  decrypt(token: string, options: FernetDecryptOptions = {}): Buffer {
    const check = timeCheckOf(options);
    const unverified = parseToken(token);
    const plaintext =
      unverified && passesTimeCheck(unverified, check)
        ? openToken(this.#key, unverified)
        : undefined;
    if (!plaintext) {
      throw new InvalidFernetToken();
    }
    return plaintext;
  }
}

/**
 * The id of a key: the first 8 bytes of SHA-256 over the raw 32-byte key, as 16 hex
 * characters. Stable across processes, safe to store and log, and it does not reveal the key.
 * @throws Error when the key is malformed.
 */
export function keyIdOf(key: string): string {
  return keyIdOfEncodedKey(key);
}
