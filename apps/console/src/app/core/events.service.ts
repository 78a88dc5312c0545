import {
  DestroyRef,
  inject,
  Injectable,
  InjectionToken,
  signal,
} from '@angular/core';
import type { ServerEventDto } from '@keeper/contracts';
import { Observable, Subject } from 'rxjs';
import { API_PREFIX } from './api';

/** The part of `EventSource` this service uses, so tests can hand in a fake. */
export interface EventSourceLike {
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent<string>) => void) | null;
  onerror: ((event: Event) => void) | null;
  close(): void;
}

/** Opens the stream; the session cookie goes along (same origin). */
export const EVENT_SOURCE_FACTORY = new InjectionToken<
  (url: string) => EventSourceLike
>('EVENT_SOURCE_FACTORY', {
  providedIn: 'root',
  factory: () => (url: string) =>
    new EventSource(url, { withCredentials: true }) as EventSourceLike,
});

export interface LiveEventsTiming {
  /** Waits before each reconnect attempt in a row; the last one repeats. */
  reconnectDelaysMs: readonly number[];
  /** How often pages reload what they show while the stream is down. */
  pollIntervalMs: number;
}

export const LIVE_EVENTS_TIMING = new InjectionToken<LiveEventsTiming>(
  'LIVE_EVENTS_TIMING',
  {
    providedIn: 'root',
    factory: () => ({
      reconnectDelaysMs: [1000, 2000, 5000, 10_000, 30_000],
      pollIntervalMs: 15_000,
    }),
  },
);

/**
 * - `off`: not started (logged out);
 * - `connecting`: opening the stream for the first time;
 * - `live`: events arrive as they happen;
 * - `polling`: the stream dropped; pages reload on a timer while it reconnects.
 */
export type LiveState = 'off' | 'connecting' | 'live' | 'polling';

export const EVENTS_URL = `${API_PREFIX}/events`;

function isServerEvent(value: unknown): value is ServerEventDto {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { type?: unknown }).type === 'string'
  );
}

/**
 * The server-sent events of `GET /api/v1/events`, which keep the pages up to date.
 *
 * When the stream drops, the service closes it and reopens it after a growing delay (the
 * browser's own retry would hammer a restarting API every 3 s); meanwhile `resync` ticks on a
 * timer so pages poll. When the stream is back, `resync` fires once more (events sent while it
 * was down are lost) and the polling stops.
 */
@Injectable({ providedIn: 'root' })
export class EventsService {
  private readonly openStream = inject(EVENT_SOURCE_FACTORY);
  private readonly timing = inject(LIVE_EVENTS_TIMING);

  private readonly stateSignal = signal<LiveState>('off');
  private readonly eventSubject = new Subject<ServerEventDto>();
  private readonly resyncSubject = new Subject<void>();

  private source: EventSourceLike | null = null;
  private failedAttempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pollTimer: ReturnType<typeof setInterval> | undefined;

  readonly state = this.stateSignal.asReadonly();

  /** Each event the server sends. */
  readonly events: Observable<ServerEventDto> =
    this.eventSubject.asObservable();

  /** "Reload what you show": on a timer while the stream is down, and once when it is back. */
  readonly resync: Observable<void> = this.resyncSubject.asObservable();

  constructor() {
    inject(DestroyRef).onDestroy(() => this.stop());
  }

  /** Opens the stream; does nothing when it is already open or reconnecting. */
  start(): void {
    if (this.stateSignal() !== 'off') return;
    this.stateSignal.set('connecting');
    this.open();
  }

  /** Closes the stream and stops reconnecting and polling. */
  stop(): void {
    this.closeSource();
    clearTimeout(this.reconnectTimer);
    this.stopPolling();
    this.failedAttempts = 0;
    this.stateSignal.set('off');
  }

  private open(): void {
    let source: EventSourceLike;
    try {
      source = this.openStream(EVENTS_URL);
    } catch {
      // No EventSource in this browser: polling is all there is.
      this.dropped();
      return;
    }
    this.source = source;
    source.onopen = () => this.opened();
    source.onmessage = (message) => this.received(message.data);
    source.onerror = () => {
      if (this.source === source) this.dropped();
    };
  }

  private opened(): void {
    const wasPolling = this.pollTimer !== undefined;
    this.failedAttempts = 0;
    this.stopPolling();
    this.stateSignal.set('live');
    if (wasPolling) this.resyncSubject.next();
  }

  private received(data: string): void {
    let event: unknown;
    try {
      event = JSON.parse(data);
    } catch {
      return;
    }
    if (isServerEvent(event)) this.eventSubject.next(event);
  }

  private dropped(): void {
    this.closeSource();
    this.stateSignal.set('polling');
    this.startPolling();
    const delays = this.timing.reconnectDelaysMs;
    const delay = delays[Math.min(this.failedAttempts, delays.length - 1)];
    this.failedAttempts += 1;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  private startPolling(): void {
    if (this.pollTimer !== undefined) return;
    // What changed while the stream was down is not coming: reload at once, then on a timer.
    this.resyncSubject.next();
    this.pollTimer = setInterval(
      () => this.resyncSubject.next(),
      this.timing.pollIntervalMs,
    );
  }

  private stopPolling(): void {
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  private closeSource(): void {
    if (!this.source) return;
    this.source.onopen = null;
    this.source.onmessage = null;
    this.source.onerror = null;
    this.source.close();
    this.source = null;
  }
}
