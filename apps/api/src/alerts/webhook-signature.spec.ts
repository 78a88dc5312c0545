import { createHmac } from 'node:crypto';
import { signWebhook, verifyWebhookSignature } from './webhook-signature';

describe('webhook signature', () => {
  const secret = 'whsec-test-0123456789';
  const body =
    '{"id":"d-1","type":"needs_reauth","message":"Reconnect Acme EU"}';
  const now = 1_760_000_000;
  const signedHeaders = (timestamp = now, signedBody: string = body) => ({
    'X-Keeper-Timestamp': String(timestamp),
    'X-Keeper-Signature': signWebhook(secret, timestamp, signedBody),
  });

  it('is the hex HMAC-SHA256 of "<timestamp>.<body>", prefixed sha256=', () => {
    const expected = createHmac('sha256', secret)
      .update(`${now}.${body}`)
      .digest('hex');

    expect(signWebhook(secret, now, body)).toBe(`sha256=${expected}`);
    expect(signWebhook(secret, String(now), Buffer.from(body))).toBe(
      `sha256=${expected}`,
    );
  });

  it('accepts a delivery signed with the secret, headers in any case or as fetch Headers', () => {
    expect(verifyWebhookSignature(secret, signedHeaders(), body, now)).toBe(
      true,
    );
    const lower = Object.fromEntries(
      Object.entries(signedHeaders()).map(([key, value]) => [
        key.toLowerCase(),
        value,
      ]),
    );
    expect(verifyWebhookSignature(secret, lower, Buffer.from(body), now)).toBe(
      true,
    );
    expect(
      verifyWebhookSignature(secret, new Headers(signedHeaders()), body, now),
    ).toBe(true);
  });

  it('rejects another secret, a changed body or timestamp, and malformed headers', () => {
    const headers = signedHeaders();
    expect(verifyWebhookSignature('another-secret', headers, body, now)).toBe(
      false,
    );
    expect(
      verifyWebhookSignature(
        secret,
        headers,
        body.replace('Acme', 'Evil'),
        now,
      ),
    ).toBe(false);
    expect(
      verifyWebhookSignature(
        secret,
        { ...headers, 'X-Keeper-Timestamp': String(now - 1) },
        body,
        now,
      ),
    ).toBe(false);
    expect(
      verifyWebhookSignature(
        secret,
        { 'X-Keeper-Timestamp': String(now) },
        body,
        now,
      ),
    ).toBe(false);
    expect(
      verifyWebhookSignature(
        secret,
        { ...headers, 'X-Keeper-Signature': 'sha256=abc' },
        body,
        now,
      ),
    ).toBe(false);
    expect(
      verifyWebhookSignature(
        secret,
        { ...headers, 'X-Keeper-Timestamp': 'yesterday' },
        body,
        now,
      ),
    ).toBe(false);
    expect(
      verifyWebhookSignature(
        secret,
        {
          'x-keeper-timestamp': String(now),
          'x-keeper-signature': [headers['X-Keeper-Signature'], 'sha256=0'],
        },
        body,
        now,
      ),
    ).toBe(false);
  });

  it('accepts a timestamp up to 5 minutes from the receiver clock, either way, and no further', () => {
    expect(
      verifyWebhookSignature(secret, signedHeaders(now - 300), body, now),
    ).toBe(true);
    expect(
      verifyWebhookSignature(secret, signedHeaders(now + 300), body, now),
    ).toBe(true);
    expect(
      verifyWebhookSignature(secret, signedHeaders(now - 301), body, now),
    ).toBe(false);
    expect(
      verifyWebhookSignature(secret, signedHeaders(now + 301), body, now),
    ).toBe(false);
    expect(
      verifyWebhookSignature(
        secret,
        signedHeaders(now - 3_600),
        body,
        now,
        7_200,
      ),
    ).toBe(true);
  });
});
