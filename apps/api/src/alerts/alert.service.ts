import {
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  BackoffOptions,
  delayForAttempt,
  parseRetryAfter,
  realSleep,
  Sleep,
} from '../amazon/retry-policy';
import { scrubString } from '../common/log-redaction';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { signWebhook } from './webhook-signature';

export const ALERT_TYPES = [
  'refresh_failed',
  'needs_reauth',
  'recovered',
  'refresh_paused',
  'refresh_resumed',
] as const;
export type AlertType = (typeof ALERT_TYPES)[number];

/** What the refresh code reports. Never put a token or secret in it (they are scrubbed anyway). */
export interface Alert {
  type: AlertType;
  connectionId?: string;
  label?: string;
  region?: string;
  /** Plain English, for a person reading a chat channel. */
  message: string;
  correlationId?: string;
}

/** The JSON body of a delivery; absent fields are `null`, so every body has the same keys. */
export interface AlertPayload {
  /** The delivery id (UUID), also in `X-Keeper-Delivery`; the same on every retry. */
  id: string;
  type: AlertType;
  /** ISO 8601, when `notify` was called. */
  occurredAt: string;
  connectionId: string | null;
  label: string | null;
  region: string | null;
  message: string;
  correlationId: string | null;
}

/** Injection token of {@link AlertDeliveryOptions}; the defaults suit production. */
export const ALERT_DELIVERY_OPTIONS = Symbol('ALERT_DELIVERY_OPTIONS');

export interface AlertDeliveryOptions {
  /** Per request, until the response headers. Default 5 s. */
  timeoutMs?: number;
  /** Retries after the first request (network errors, timeouts, 5xx, 429). Default 5. */
  maxRetries?: number;
  /** Full-jitter exponential backoff. Default base 1 s, cap 30 s, `Math.random`. */
  backoff?: Partial<BackoffOptions>;
  /** A `Retry-After` longer than this ends the delivery instead of holding a slot. Default 60 s. */
  maxRetryAfterMs?: number;
  /** Deliveries waiting for a slot; beyond this the oldest is dropped. Default 1,000. */
  maxQueued?: number;
  /** Deliveries in flight (or waiting to retry) at once. Default 4. */
  maxInFlight?: number;
  /** At shutdown, how long pending deliveries may still run. Default 3 s. */
  shutdownGraceMs?: number;
  sleep?: Sleep;
  /** Unix milliseconds. */
  now?: () => number;
}

interface Delivery {
  id: string;
  type: AlertType;
  body: string;
}

type AttemptResult =
  | { kind: 'delivered'; status: number }
  | { kind: 'rejected'; status: number }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'stopped' };

const MAX_MESSAGE_LENGTH = 2_000;

/**
 * Sends alerts (refresh failed, re-auth needed, recovered, refresh paused and resumed) to `ALERT_WEBHOOK_URL`
 * as signed JSON POSTs (see `webhook-signature.ts` for the receiver's side). {@link notify}
 * only queues: delivery runs in the background, so an unreachable receiver never slows or
 * fails a refresh. Logs name the type, delivery id, status and attempt; never the URL (it may
 * embed a token), the secret or the body.
 */
@Injectable()
export class AlertService implements OnApplicationShutdown {
  private readonly logger = new Logger(AlertService.name);
  private readonly target: { webhookUrl: string; secret: string } | undefined;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly backoff: BackoffOptions;
  private readonly maxRetryAfterMs: number;
  private readonly maxQueued: number;
  private readonly maxInFlight: number;
  private readonly shutdownGraceMs: number;
  private readonly sleep: Sleep;
  private readonly now: () => number;
  private readonly queue: Delivery[] = [];
  private readonly running = new Set<Promise<void>>();
  /** Aborts requests in flight and backoff waits once the shutdown grace is over. */
  private readonly stop = new AbortController();

  constructor(
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'alerts'>,
    @Optional()
    @Inject(ALERT_DELIVERY_OPTIONS)
    options: AlertDeliveryOptions = {},
  ) {
    this.target = config.alerts;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.maxRetries = options.maxRetries ?? 5;
    this.backoff = {
      baseMs: 1_000,
      capMs: 30_000,
      random: Math.random,
      ...options.backoff,
    };
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    this.maxQueued = Math.max(1, options.maxQueued ?? 1_000);
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 4);
    this.shutdownGraceMs = options.shutdownGraceMs ?? 3_000;
    this.sleep = options.sleep ?? realSleep;
    this.now = options.now ?? Date.now;
  }

  /** False when `ALERT_WEBHOOK_URL` is unset: {@link notify} does nothing. */
  get enabled(): boolean {
    return this.target !== undefined;
  }

  /** Queues the alert and returns at once; never throws, never waits for the receiver. */
  notify(alert: Alert): void {
    if (!this.target || this.stop.signal.aborted) return;
    try {
      const delivery = this.prepare(alert);
      if (this.queue.length >= this.maxQueued) {
        const dropped = this.queue.shift();
        this.logger.warn(
          `Alert queue full (${this.maxQueued}): dropped ${dropped?.type} delivery ${dropped?.id}`,
        );
      }
      this.queue.push(delivery);
      this.pump();
    } catch (error) {
      this.logger.error(
        `Alert ${String(alert?.type)} not queued: ${errorName(error)}`,
      );
    }
  }

  /** Resolves when nothing is queued or in flight (tests, and the shutdown grace). */
  async whenIdle(): Promise<void> {
    while (this.running.size > 0) await Promise.race(this.running);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.shutdownGraceMs);
      });
      await Promise.race([this.whenIdle(), graceOver]);
      clearTimeout(timer);
    }
    const dropped = this.queue.splice(0).length;
    const cutShort = this.running.size;
    this.stop.abort();
    await Promise.allSettled([...this.running]);
    if (dropped + cutShort > 0) {
      this.logger.warn(
        `Shutdown after ${this.shutdownGraceMs} ms grace: ${cutShort} alert deliveries cut short, ${dropped} never sent`,
      );
    }
  }

  private prepare(alert: Alert): Delivery {
    const payload: AlertPayload = {
      id: randomUUID(),
      type: alert.type,
      occurredAt: new Date(this.now()).toISOString(),
      connectionId: alert.connectionId ?? null,
      label: alert.label === undefined ? null : scrubString(alert.label),
      region: alert.region ?? null,
      message: scrubString(String(alert.message)).slice(0, MAX_MESSAGE_LENGTH),
      correlationId: alert.correlationId ?? null,
    };
    return {
      id: payload.id,
      type: payload.type,
      body: JSON.stringify(payload),
    };
  }

  private pump(): void {
    while (this.running.size < this.maxInFlight && this.queue.length > 0) {
      const delivery = this.queue.shift() as Delivery;
      const running: Promise<void> = this.deliver(delivery)
        .catch((error: unknown) => {
          this.logger.error(
            `Alert ${delivery.type} delivery ${delivery.id} failed: ${errorName(error)}`,
          );
        })
        .finally(() => {
          this.running.delete(running);
          this.pump();
        });
      this.running.add(running);
    }
  }

  private async deliver(delivery: Delivery): Promise<void> {
    const label = `Alert ${delivery.type} delivery ${delivery.id}`;
    for (let attempt = 1; ; attempt += 1) {
      const result = await this.attempt(delivery);
      switch (result.kind) {
        case 'stopped':
          return;
        case 'delivered':
          this.logger.log(`${label}: ${result.status} on attempt ${attempt}`);
          return;
        case 'rejected':
          this.logger.warn(
            `${label}: ${result.status} on attempt ${attempt}, not retried`,
          );
          return;
        case 'retry': {
          if (attempt > this.maxRetries) {
            this.logger.warn(
              `${label}: ${result.reason} on attempt ${attempt}, giving up`,
            );
            return;
          }
          if (
            result.retryAfterMs !== undefined &&
            result.retryAfterMs > this.maxRetryAfterMs
          ) {
            this.logger.warn(
              `${label}: ${result.reason} on attempt ${attempt}, Retry-After too long, giving up`,
            );
            return;
          }
          const delayMs = Math.max(
            delayForAttempt(attempt - 1, this.backoff),
            result.retryAfterMs ?? 0,
          );
          this.logger.warn(
            `${label}: ${result.reason} on attempt ${attempt}, retrying in ${delayMs} ms`,
          );
          try {
            await this.sleep(delayMs, this.stop.signal);
          } catch {
            return;
          }
          if (this.stop.signal.aborted) return;
        }
      }
    }
  }

  private async attempt(delivery: Delivery): Promise<AttemptResult> {
    const target = this.target as { webhookUrl: string; secret: string };
    // Signed afresh on every attempt, so a late retry still passes the receiver's 5-minute check.
    const timestamp = String(Math.floor(this.now() / 1000));
    let response: Response;
    try {
      response = await fetch(target.webhookUrl, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'ads-token-keeper',
          'X-Keeper-Event': delivery.type,
          'X-Keeper-Delivery': delivery.id,
          'X-Keeper-Timestamp': timestamp,
          'X-Keeper-Signature': signWebhook(
            target.secret,
            timestamp,
            delivery.body,
          ),
        },
        body: delivery.body,
        // A redirect would re-send the alert to a URL nobody configured.
        redirect: 'manual',
        signal: AbortSignal.any([
          AbortSignal.timeout(this.timeoutMs),
          this.stop.signal,
        ]),
      });
    } catch (error) {
      if (this.stop.signal.aborted) return { kind: 'stopped' };
      return { kind: 'retry', reason: describeFailure(error) };
    }
    // Only the status matters; let the connection go back to the pool.
    await response.body?.cancel().catch(() => undefined);
    const status = response.status;
    if (status >= 200 && status < 300) return { kind: 'delivered', status };
    if (status === 429 || status >= 500) {
      const retryAfterMs = parseRetryAfter(
        response.headers.get('retry-after') ?? undefined,
        this.now(),
      );
      return { kind: 'retry', reason: String(status), retryAfterMs };
    }
    return { kind: 'rejected', status };
  }
}

/** A word for the log: never the error's message, which may repeat the URL. */
function describeFailure(error: unknown): string {
  // By name, not instanceof: fetch's DOMException may come from another realm (Jest's sandbox).
  if (errorName(error) === 'TimeoutError') return 'timeout';
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause
    ?.code;
  return typeof code === 'string' && /^[A-Z_]+$/.test(code)
    ? `network error ${code}`
    : 'network error';
}

function errorName(error: unknown): string {
  const name = (error as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' ? name : 'unknown error';
}
