import { FernetKeyring, InvalidFernetToken } from '@keeper/fernet';
import { UnreadableSecretError } from './unreadable-secret.error';

/**
 * The Fernet keys the API encrypts with, primary first: text in, text out. Decryption never
 * applies a TTL (a stored refresh token must stay readable however old it is), and every
 * failure is an {@link UnreadableSecretError} that carries neither ciphertext nor plaintext.
 * The keys live in a private field, so the ring shows nothing when logged or serialised.
 */
export class KeyRing {
  readonly #keyring: FernetKeyring;

  /** The ids of the keys (`keyIdOf`: a short hash, safe to store and show), primary first. */
  readonly keyIds: readonly string[];

  /** @throws Error naming the position of a malformed key, never its value. */
  constructor(keys: readonly string[]) {
    this.#keyring = new FernetKeyring(keys);
    this.keyIds = this.#keyring.keyIds;
  }

  /** The id of the key every new ciphertext is under. */
  get primaryKeyId(): string {
    return this.#keyring.primaryKeyId;
  }

  /** The configured keys other than the primary: still read, no longer written. */
  get oldKeyIds(): readonly string[] {
    return this.keyIds.slice(1);
  }

  holds(keyId: string): boolean {
    return this.keyIds.includes(keyId);
  }

  encrypt(plaintext: string): string {
    return this.#keyring.encrypt(plaintext);
  }

  /** @throws UnreadableSecretError when no configured key opens the ciphertext. */
  decrypt(ciphertext: string): string {
    return this.#opening(() =>
      this.#keyring.decrypt(ciphertext).toString('utf8'),
    );
  }

  /**
   * The same secret under the primary key, keeping its Fernet timestamp.
   * @throws UnreadableSecretError when no configured key opens the ciphertext.
   */
  rotate(ciphertext: string): string {
    return this.#opening(() => this.#keyring.rotate(ciphertext));
  }

  #opening<T>(open: () => T): T {
    try {
      return open();
    } catch (error) {
      if (error instanceof InvalidFernetToken)
        throw new UnreadableSecretError();
      throw error;
    }
  }
}
