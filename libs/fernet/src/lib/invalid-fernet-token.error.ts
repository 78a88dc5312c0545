/**
 * The one error every failed decryption throws: malformed, tampered with, under an unknown
 * key, expired or too far in the future all look the same, so that callers (and attackers)
 * learn nothing about why a token was refused.
 */
export class InvalidFernetToken extends Error {
  override readonly name = 'InvalidFernetToken';

  constructor() {
    super('Invalid Fernet token');
  }
}
