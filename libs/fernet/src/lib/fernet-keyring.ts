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
  openToken,
  parseToken,
  sealToken,
  type UnverifiedToken,
} from './fernet-token';
import { InvalidFernetToken } from './invalid-fernet-token.error';

/** A decrypted token and the id of the key that opened it. */
export interface FernetDecryption {
  readonly plaintext: Buffer;
  /** See `keyIdOf`. */
  readonly keyId: string;
}

/**
 * Several Fernet keys, for key rotation: Python's `MultiFernet`. The first key is the primary:
 * it encrypts and rotates; every key decrypts.
 *
 * @example
 * const sut = new FernetKeyring([newKey, oldKey]);
 * const fresh = sut.rotate(tokenUnderOldKey); // same plaintext and timestamp, under newKey
 */
export class FernetKeyring {
  readonly #keys: readonly FernetKeyMaterial[];

  /** The ids of the keys (see `keyIdOf`), in the order given: the primary's first. */
  readonly keyIds: readonly string[];

  /**
   * @param keys the primary key first, then older keys still to be read.
   * @throws Error when the list is empty or a key is malformed (naming its position, never
   *   its value).
   */
  constructor(keys: readonly string[]) {
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new Error(
        'FernetKeyring needs at least one key, the primary first',
      );
    }
    this.#keys = keys.map((key, index) =>
      deriveKeyMaterial(key, `Fernet key #${index + 1} of ${keys.length}`),
    );
    this.keyIds = Object.freeze(this.#keys.map(({ keyId }) => keyId));
  }

  /** The id of the key that encrypts and rotates. */
  get primaryKeyId(): string {
    return this.keyIds[0];
  }

  /** Encrypts with the primary key: see `Fernet.encrypt`. */
  encrypt(data: Buffer | string, options: FernetEncryptOptions = {}): string {
    return sealToken(
      this.#keys[0],
      plaintextBytes(data),
      tokenTimestamp(options),
      tokenIv(options),
    );
  }

  /**
   * Decrypts with whichever key signed the token.
   * @throws InvalidFernetToken whatever the reason, including an unknown key.
   */
  decrypt(token: string, options: FernetDecryptOptions = {}): Buffer {
    return this.decryptWithKeyId(token, options).plaintext;
  }

  /**
   * Like `decrypt`, and tells which key opened the token, so that a caller can find what is
   * still under an old key.
   * @throws InvalidFernetToken whatever the reason, including an unknown key.
   */
  decryptWithKeyId(
    token: string,
    options: FernetDecryptOptions = {},
  ): FernetDecryption {
    const check = timeCheckOf(options);
    const unverified = parseToken(token);
    const decryption =
      unverified && passesTimeCheck(unverified, check)
        ? this.#open(unverified)
        : undefined;
    if (!decryption) {
      throw new InvalidFernetToken();
    }
    return decryption;
  }

  /**
   * Re-encrypts a token under the primary key with a fresh IV, keeping its timestamp (and so
   * its age): Python's `MultiFernet.rotate`. No TTL applies.
   * @throws InvalidFernetToken when no key opens the token.
   */
  rotate(token: string): string {
    const unverified = parseToken(token);
    const decryption = unverified ? this.#open(unverified) : undefined;
    if (!unverified || !decryption) {
      throw new InvalidFernetToken();
    }
    return sealToken(
      this.#keys[0],
      decryption.plaintext,
      unverified.timestamp,
      tokenIv({}),
    );
  }

  #open(token: UnverifiedToken): FernetDecryption | undefined {
    for (const key of this.#keys) {
      const plaintext = openToken(key, token);
      if (plaintext) {
        return { plaintext, keyId: key.keyId };
      }
    }
    return undefined;
  }
}
