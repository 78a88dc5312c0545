import { CONNECT_OUTCOMES, type ConnectOutcome } from '@keeper/contracts';

/** The longest reason shown: it comes from a URL, which anyone could craft. */
const MAX_REASON_LENGTH = 300;

export function isConnectOutcome(value: unknown): value is ConnectOutcome {
  return (CONNECT_OUTCOMES as readonly unknown[]).includes(value);
}

const FAILURES: Record<
  Exclude<ConnectOutcome, 'connected' | 'reconnected'>,
  { title: string; defaultReason: string }
> = {
  access_denied: {
    title: 'Not connected: access was denied',
    defaultReason: 'Access was denied on the Amazon consent page.',
  },
  state_invalid: {
    title: 'Not connected: the sign-in was not recognised',
    defaultReason: 'Start again from this page.',
  },
  state_expired: {
    title: 'Not connected: the sign-in expired',
    defaultReason: 'It took longer than 10 minutes. Start again.',
  },
  amazon_error: {
    title: 'Not connected: Amazon answered with an error',
    defaultReason: 'Try again in a moment.',
  },
};

/**
 * The toast after coming back from Amazon: what happened, for which connection, and the
 * API's reason when it failed.
 */
export function connectOutcomeMessage(
  outcome: ConnectOutcome,
  { label, reason }: { label?: string; reason?: string | null },
): { text: string; failed: boolean } {
  if (outcome === 'connected') {
    return {
      text: label
        ? `Connected “${label}”. Its tokens are now kept fresh.`
        : 'Amazon account connected. Its tokens are now kept fresh.',
      failed: false,
    };
  }
  if (outcome === 'reconnected') {
    return {
      text: label
        ? `Reconnected “${label}”. Its tokens are fresh again.`
        : 'Amazon account reconnected. Its tokens are fresh again.',
      failed: false,
    };
  }
  const failure = FAILURES[outcome];
  const words =
    reason?.trim().slice(0, MAX_REASON_LENGTH) || failure.defaultReason;
  return { text: `${failure.title}. ${words}`, failed: true };
}
