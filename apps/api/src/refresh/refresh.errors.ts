import type { ConnectionStatus } from '@keeper/contracts';
import { DomainError } from '../common/domain-errors';

const WHY: Partial<Record<ConnectionStatus, string>> = {
  needs_reauth:
    'Amazon no longer accepts its refresh token: reconnect it in the console.',
  disconnected:
    'It was disconnected: connect the account again in the console.',
};

/** The connection has no usable refresh token. */
export class ConnectionNotRefreshableError extends DomainError {
  readonly httpStatus = 409;

  constructor(readonly status: ConnectionStatus) {
    super(`This connection cannot be refreshed. ${WHY[status] ?? ''}`.trim());
  }
}

/** The last refresh failed and the connection waits out its backoff; its token has expired. */
export class RefreshBackoffError extends DomainError {
  readonly httpStatus = 503;

  constructor(nextAttemptAt: Date) {
    const seconds = Math.max(
      1,
      Math.ceil((nextAttemptAt.getTime() - Date.now()) / 1000),
    );
    super(
      `The last refresh of this connection failed and its token has expired; the next attempt is in ${seconds} s.`,
    );
  }
}

/** Another refresh of the same connection did not finish in time. */
export class RefreshBusyError extends DomainError {
  readonly httpStatus = 503;

  constructor() {
    super(
      'Another refresh of this connection is still running; try again in a few seconds.',
    );
  }
}

/** Refreshes are paused because Amazon rejected our client credentials. */
export class RefreshPausedError extends DomainError {
  readonly httpStatus = 503;

  constructor(reason: string) {
    super(`Refreshes are paused: ${reason}`);
  }
}
