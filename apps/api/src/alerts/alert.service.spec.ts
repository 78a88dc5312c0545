import { Logger } from '@nestjs/common';
import {
  createServer,
  IncomingHttpHeaders,
  IncomingMessage,
  Server,
  ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Alert,
  AlertDeliveryOptions,
  AlertPayload,
  AlertService,
} from './alert.service';
import { verifyWebhookSignature } from './webhook-signature';

type Responder = (request: IncomingMessage, response: ServerResponse) => void;

const answer =
  (status: number, headers: Record<string, string> = {}): Responder =>
  (_, response) => {
    response.writeHead(status, headers).end();
  };
const ok = answer(204);
/** Holds the request open: the sender's timeout (or shutdown) has to end it. */
const hang: Responder = () => undefined;
/** Drops the connection without an answer. */
const reset: Responder = (request) => request.socket.destroy();

interface Received {
  headers: IncomingHttpHeaders;
  rawBody: string;
  payload: AlertPayload;
}

/** A webhook receiver on a free port that answers from a script, then with `fallback`. */
class ScriptedReceiver {
  readonly received: Received[] = [];
  /** Requests being answered right now (a `hang` keeps its request here). */
  open = 0;
  private script: Responder[] = [];
  private fallback: Responder = ok;
  private readonly server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      this.received.push({
        headers: request.headers,
        rawBody,
        payload: JSON.parse(rawBody) as AlertPayload,
      });
      this.open += 1;
      response.on('close', () => (this.open -= 1));
      (this.script.shift() ?? this.fallback)(request, response);
    });
  });

  async start(path = '/hooks/keeper'): Promise<string> {
    await new Promise<void>((resolve) =>
      this.server.listen(0, '127.0.0.1', resolve),
    );
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
  }

  respondWith(...responders: Responder[]): this {
    this.script = responders;
    return this;
  }

  otherwise(responder: Responder): this {
    this.fallback = responder;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function waitFor(
  condition: () => boolean,
  timeoutMs = 3_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error('Timed out waiting for the condition');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe(AlertService.name, () => {
  const secret = 'whsec-test-0123456789';
  const clock = 1_760_000_000_000;
  let receiver: ScriptedReceiver;
  let url: string;
  let sleeps: number[];
  let logLines: string[];
  let sut: AlertService;

  const alert: Alert = {
    type: 'needs_reauth',
    connectionId: '7d1c6a52-0c8e-4d55-9a35-1d0f4f1b8a10',
    label: 'Acme EU',
    region: 'eu',
    message:
      'Amazon rejected the refresh token (invalid_grant): reconnect Acme EU.',
    correlationId: 'req-123',
  };

  /** A service posting to the receiver, with a fixed clock and a sleep that records instead of waiting. */
  const serviceWith = (options: AlertDeliveryOptions = {}, webhookUrl = url) =>
    new AlertService(
      { alerts: { webhookUrl, secret } },
      {
        now: () => clock,
        sleep: async (ms, signal) => {
          signal?.throwIfAborted();
          sleeps.push(ms);
        },
        backoff: { random: () => 0.5 },
        timeoutMs: 2_000,
        ...options,
      },
    );

  beforeEach(async () => {
    receiver = new ScriptedReceiver();
    url = await receiver.start();
    sleeps = [];
    logLines = [];
    for (const level of ['log', 'warn', 'error'] as const) {
      jest
        .spyOn(Logger.prototype, level)
        .mockImplementation((...args: unknown[]) => {
          logLines.push(String(args[0]));
        });
    }
    sut = serviceWith();
  });

  afterEach(async () => {
    await sut.onApplicationShutdown();
    await receiver.stop();
    jest.restoreAllMocks();
  });

  it('posts the alert as JSON signed with the secret, verifiable by the receiver', async () => {
    sut.notify(alert);
    await sut.whenIdle();

    expect(receiver.received).toHaveLength(1);
    const [{ headers, rawBody, payload }] = receiver.received;
    expect(payload).toEqual({
      id: expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      ),
      type: 'needs_reauth',
      occurredAt: new Date(clock).toISOString(),
      connectionId: alert.connectionId,
      label: 'Acme EU',
      region: 'eu',
      message: alert.message,
      correlationId: 'req-123',
    });
    expect(headers).toMatchObject({
      'content-type': 'application/json',
      'x-keeper-event': 'needs_reauth',
      'x-keeper-delivery': payload.id,
      'x-keeper-timestamp': String(clock / 1000),
      'x-keeper-signature': expect.stringMatching(/^sha256=[0-9a-f]{64}$/),
    });
    expect(verifyWebhookSignature(secret, headers, rawBody, clock / 1000)).toBe(
      true,
    );
    expect(
      verifyWebhookSignature('another-secret', headers, rawBody, clock / 1000),
    ).toBe(false);
    expect(logLines).toEqual([
      `Alert needs_reauth delivery ${payload.id}: 204 on attempt 1`,
    ]);
  });

  it('sends null for the fields an alert leaves out', async () => {
    sut.notify({
      type: 'refresh_paused',
      message: 'Amazon rejected our client credentials; refreshes are paused.',
    });
    await sut.whenIdle();

    expect(receiver.received[0].payload).toMatchObject({
      connectionId: null,
      label: null,
      region: null,
      correlationId: null,
    });
  });

  it('returns before anything is sent, and never throws', async () => {
    sut.notify(alert);
    expect(receiver.received).toHaveLength(0);

    expect(() => sut.notify(null as unknown as Alert)).not.toThrow();
    expect(() => sut.notify({ type: 'recovered' } as Alert)).not.toThrow();
    await sut.whenIdle();
    expect(receiver.received.map((request) => request.payload.type)).toEqual([
      'needs_reauth',
      'recovered',
    ]);
  });

  it('retries a 500 five times with exponential backoff and full jitter, then gives up', async () => {
    receiver.otherwise(answer(500));

    sut.notify(alert);
    await sut.whenIdle();

    expect(receiver.received).toHaveLength(6);
    // random() = 0.5 of the ceilings 1 s, 2 s, 4 s, 8 s, 16 s.
    expect(sleeps).toEqual([500, 1_000, 2_000, 4_000, 8_000]);
    expect(
      new Set(
        receiver.received.map(
          (request) => request.headers['x-keeper-delivery'],
        ),
      ).size,
    ).toBe(1);
    expect(logLines.at(-1)).toMatch(
      /^Alert needs_reauth delivery [0-9a-f-]{36}: 500 on attempt 6, giving up$/,
    );
  });

  it('retries after a timeout and after a dropped connection', async () => {
    await sut.onApplicationShutdown();
    sut = serviceWith({ timeoutMs: 150 });
    receiver.respondWith(hang, reset, ok);

    sut.notify(alert);
    await sut.whenIdle();

    expect(receiver.received).toHaveLength(3);
    expect(logLines[0]).toMatch(/: timeout on attempt 1, retrying in 500 ms$/);
    expect(logLines[1]).toMatch(
      /: network error( [A-Z_]+)? on attempt 2, retrying in 1000 ms$/,
    );
    expect(logLines[2]).toMatch(/: 204 on attempt 3$/);
  });

  it('does not retry a 4xx other than 429', async () => {
    receiver.otherwise(answer(400));

    sut.notify(alert);
    await sut.whenIdle();

    expect(receiver.received).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(logLines).toEqual([
      expect.stringMatching(/: 400 on attempt 1, not retried$/),
    ]);
  });

  it('waits as long as Retry-After says on 429 and 503 (seconds or HTTP-date)', async () => {
    await sut.onApplicationShutdown();
    sut = serviceWith({ backoff: { random: () => 0 } });
    receiver.respondWith(
      answer(429, { 'Retry-After': '7' }),
      answer(503, { 'Retry-After': new Date(clock + 20_000).toUTCString() }),
      ok,
    );

    sut.notify(alert);
    await sut.whenIdle();

    expect(receiver.received).toHaveLength(3);
    expect(sleeps).toEqual([7_000, 20_000]);
  });

  it('gives up rather than hold a slot when Retry-After is longer than a minute', async () => {
    receiver.respondWith(answer(429, { 'Retry-After': '3600' }));

    sut.notify(alert);
    await sut.whenIdle();

    expect(receiver.received).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(logLines).toEqual([
      expect.stringMatching(
        /: 429 on attempt 1, Retry-After too long, giving up$/,
      ),
    ]);
  });

  it('keeps 4 deliveries in flight and a bounded queue, dropping the oldest queued alert', async () => {
    await sut.onApplicationShutdown();
    sut = serviceWith({ maxQueued: 3 });
    const held: ServerResponse[] = [];
    receiver.otherwise((_, response) => held.push(response));

    for (let index = 1; index <= 10; index += 1)
      sut.notify({ type: 'refresh_failed', message: `alert ${index}` });
    await waitFor(() => held.length === 4);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(receiver.open).toBe(4);
    expect(
      logLines.filter((line) =>
        line.startsWith('Alert queue full (3): dropped refresh_failed'),
      ),
    ).toHaveLength(3);

    receiver.otherwise(ok);
    held.splice(0).forEach((response) => response.writeHead(200).end());
    await sut.whenIdle();

    expect(receiver.received.map((request) => request.payload.message)).toEqual(
      [
        'alert 1',
        'alert 2',
        'alert 3',
        'alert 4',
        'alert 8',
        'alert 9',
        'alert 10',
      ],
    );
  });

  it('at shutdown, lets pending deliveries finish within the grace period', async () => {
    await sut.onApplicationShutdown();
    sut = serviceWith({ shutdownGraceMs: 2_000 });
    receiver.otherwise((_, response) =>
      setTimeout(() => response.writeHead(200).end(), 100),
    );

    for (let index = 1; index <= 6; index += 1)
      sut.notify({ type: 'recovered', message: `alert ${index}` });
    const started = Date.now();
    await sut.onApplicationShutdown();

    expect(Date.now() - started).toBeLessThan(1_500);
    expect(receiver.received).toHaveLength(6);
    expect(
      logLines.filter((line) => line.includes(': 200 on attempt 1')),
    ).toHaveLength(6);
  });

  it('at shutdown, stops after the grace period and drops what is left', async () => {
    await sut.onApplicationShutdown();
    sut = serviceWith({ shutdownGraceMs: 150 });
    receiver.otherwise(hang);

    for (let index = 1; index <= 6; index += 1)
      sut.notify({ type: 'refresh_failed', message: `alert ${index}` });
    await waitFor(() => receiver.received.length === 4);
    const started = Date.now();
    await sut.onApplicationShutdown();

    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(logLines).toContain(
      'Shutdown after 150 ms grace: 4 alert deliveries cut short, 2 never sent',
    );
    sut.notify(alert);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(receiver.received).toHaveLength(4);
  });

  it('does nothing when ALERT_WEBHOOK_URL is unset', async () => {
    const fetchSpy = jest.spyOn(globalThis, 'fetch');
    const disabled = new AlertService({ alerts: undefined });

    disabled.notify(alert);
    await disabled.whenIdle();
    await disabled.onApplicationShutdown();

    expect(disabled.enabled).toBe(false);
    expect(sut.enabled).toBe(true);
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(receiver.received).toHaveLength(0);
    expect(logLines).toEqual([]);
  });

  it('keeps tokens out of the payload and the URL and secret out of the logs', async () => {
    await sut.onApplicationShutdown();
    sut = serviceWith({}, url.replace('/hooks/keeper', '/hooks/T0KEN-IN-PATH'));
    receiver.respondWith(answer(500), answer(404));

    sut.notify({
      ...alert,
      type: 'refresh_failed',
      message:
        'Refresh of Atza|IwEBIsecretaccess failed; stored Atzr|IwEBIsecretrefresh',
    });
    await sut.whenIdle();

    expect(receiver.received[0].rawBody).not.toContain('IwEBI');
    expect(receiver.received[0].payload.message).toBe(
      'Refresh of Atza|[Redacted] failed; stored Atzr|[Redacted]',
    );
    const logs = logLines.join('\n');
    expect(logLines).toHaveLength(2);
    for (const secretText of [
      'T0KEN-IN-PATH',
      secret,
      'IwEBI',
      '127.0.0.1',
      'Acme',
    ])
      expect(logs).not.toContain(secretText);
  });
});
