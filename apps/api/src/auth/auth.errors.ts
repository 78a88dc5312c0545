import { DomainError } from '../common/domain-errors';

export class WrongPasswordError extends DomainError {
  readonly httpStatus = 401;

  constructor() {
    super('That password is not right.');
  }
}

export class LoginRequiredError extends DomainError {
  readonly httpStatus = 401;

  constructor() {
    super('Log in first: this route needs an admin session.');
  }
}

export class ServiceKeyRequiredError extends DomainError {
  readonly httpStatus = 401;

  constructor() {
    super(
      'This route needs a service API key: send it as "Authorization: Bearer <key>".',
    );
  }
}

export class CrossSiteRequestError extends DomainError {
  readonly httpStatus = 403;

  constructor() {
    super(
      'Cross-site requests may not change anything: use the console on its own site.',
    );
  }
}
