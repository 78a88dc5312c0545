import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { CORRELATION_HEADER } from '@keeper/contracts';

/** A caller's id is kept when it is short and plain; anything else is replaced. */
const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's `genReqId`: the caller's `x-request-id`, or a new UUID. */
export function correlationIdFor(request: IncomingMessage): string {
  const offered = request.headers[CORRELATION_HEADER];
  return typeof offered === 'string' && ACCEPTABLE_ID.test(offered)
    ? offered
    : randomUUID();
}
