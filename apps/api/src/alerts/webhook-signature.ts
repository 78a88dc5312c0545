import { createHmac, timingSafeEqual } from 'node:crypto';

/** The headers of an alert delivery (lower case, as Node reports them). */
export const WEBHOOK_HEADERS = {
  event: 'x-keeper-event',
  delivery: 'x-keeper-delivery',
  timestamp: 'x-keeper-timestamp',
  signature: 'x-keeper-signature',
} as const;

/** How far a delivery's timestamp may be from the receiver's clock, by default. */
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

/** Headers as Node's `IncomingMessage.headers` (any case) or a fetch `Headers`. */
export type WebhookRequestHeaders =
  | Headers
  | Record<string, string | string[] | undefined>;

/**
 * The `X-Keeper-Signature` value of a delivery: `sha256=` and the hex HMAC-SHA256, keyed with
 * `ALERT_WEBHOOK_SECRET`, of `"<timestamp>.<raw body>"`. Signing the timestamp with the body
 * lets a receiver reject a replayed delivery.
 */
export function signWebhook(
  secret: string,
  timestamp: number | string,
  body: string | Buffer,
): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/**
 * How a receiver checks a delivery; in any language it is:
 * 1. Read `X-Keeper-Timestamp` (Unix seconds) and `X-Keeper-Signature` (`sha256=<hex>`).
 * 2. Reject the delivery when the timestamp is more than 5 minutes from your clock, either way
 *    (replay protection; the sender signs every retry afresh, so a retry still passes).
 * 3. Compute the hex HMAC-SHA256, keyed with `ALERT_WEBHOOK_SECRET`, of the timestamp, a `.`,
 *    and the raw body bytes exactly as received (before any JSON parsing), and compare it with
 *    the signature in constant time.
 * 4. Drop a repeated `X-Keeper-Delivery` id: a retry after a lost answer carries the same id.
 *
 * This function does steps 1 to 3: true when the delivery is genuine and fresh.
 *
 * ```ts
 * const ok = verifyWebhookSignature(secret, request.headers, rawBody, Math.floor(Date.now() / 1000));
 * ```
 */
export function verifyWebhookSignature(
  secret: string,
  headers: WebhookRequestHeaders,
  body: string | Buffer,
  nowSeconds: number,
  toleranceSeconds = DEFAULT_SIGNATURE_TOLERANCE_SECONDS,
): boolean {
  const timestamp = headerValue(headers, WEBHOOK_HEADERS.timestamp);
  const signature = headerValue(headers, WEBHOOK_HEADERS.signature);
  if (!timestamp || !/^\d{1,12}$/.test(timestamp) || !signature) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false;
  const given = /^sha256=([0-9a-f]{64})$/i.exec(signature.trim());
  if (!given) return false;
  const expected = Buffer.from(
    signWebhook(secret, timestamp, body).slice('sha256='.length),
    'hex',
  );
  return timingSafeEqual(Buffer.from(given[1], 'hex'), expected);
}

function headerValue(
  headers: WebhookRequestHeaders,
  name: string,
): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    // A header sent twice is ambiguous; refuse it rather than pick one.
    return Array.isArray(value)
      ? value.length === 1
        ? value[0]
        : undefined
      : value;
  }
  return undefined;
}
