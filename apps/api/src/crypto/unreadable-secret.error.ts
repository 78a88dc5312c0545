import { DomainError } from '../common/domain-errors';

/**
 * A stored secret that no configured key opens: its key was taken out of FERNET_KEYS, or the
 * value is damaged. Says nothing about the value; `/health/ready` and `npm run keys -- status`
 * name the key ids concerned.
 */
export class UnreadableSecretError extends DomainError {
  readonly httpStatus = 500;

  constructor() {
    super(
      'A stored secret cannot be decrypted with the keys in FERNET_KEYS (its key was removed, or the value is damaged); ' +
        'see /health/ready or `npm run keys -- status`.',
    );
  }
}
