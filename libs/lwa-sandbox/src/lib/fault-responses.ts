import type { Exchange, SandboxContext } from './exchange';
import type { QueuedFault } from './fault-queue';

/** The `Retry-After` header a 429 or 503 fault asks for, if any. */
export function retryAfterHeaders(
  fault: QueuedFault,
  nowMs: number,
): Record<string, string> {
  if (fault.retryAfter === undefined) return {};
  if (typeof fault.retryAfter === 'string')
    return { 'Retry-After': fault.retryAfter };
  if (fault.retryAfterFormat === 'http-date') {
    return {
      'Retry-After': new Date(nowMs + fault.retryAfter * 1000).toUTCString(),
    };
  }
  return { 'Retry-After': String(fault.retryAfter) };
}

/**
 * Applies the faults every endpoint shares (slow, timeout, reset) and marks the log entry.
 * Answers true when the request is finished with (held or reset), false when the endpoint
 * should go on: after a `slow` delay, or for faults whose answer the endpoint shapes itself.
 */
export async function applyTransportFault(
  ctx: SandboxContext,
  x: Exchange,
  fault: QueuedFault,
): Promise<boolean> {
  x.record.fault = fault.kind;
  x.record.outcome = `fault:${fault.kind}`;
  switch (fault.kind) {
    case 'slow':
      await ctx.pending.delay(fault.ms ?? 1000);
      x.record.outcome = undefined;
      return false;
    case 'timeout':
      ctx.pending.hold(x.req.socket, fault.ms);
      return true;
    case 'reset':
      x.req.socket.resetAndDestroy();
      return true;
    default:
      return false;
  }
}
