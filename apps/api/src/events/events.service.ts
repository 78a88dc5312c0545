import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationShutdown,
  OnModuleInit,
} from '@nestjs/common';
import type {
  AuditEventType,
  ConnectionCountsDto,
  ServerEventDto,
} from '@keeper/contracts';
import { Client, Notification } from 'pg';
import { Observable, Subject, Subscriber } from 'rxjs';
import { AuditEventEntity } from '../audit/audit-event.entity';
import { SessionService } from '../auth/session.service';
import { toAuditEventDto } from './audit-log.reader';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DATABASE_TARGET } from '../database/database.tokens';
import { Database } from '../database/database';
import { DatabaseTarget } from '../database/data-source-options';
import { toConnectionDto } from '../connections/connection.mapper';
import { ConnectionsRepository } from '../connections/connections.repository';
import { AuditNotification, eventsChannel } from '../audit/events-channel';

const RECONNECT_DELAYS_MS = [1_000, 2_000, 5_000, 10_000];
/**
 * How often the open streams' sessions are checked for absolute expiry and idleness; a logout
 * (on any replica) ends its streams at once, through the NOTIFY of its audit event.
 */
export const SESSION_CHECK_INTERVAL_MS = 30_000;

/** `connections.counted` is sent at most this often per replica (the console's filter chips). */
export const COUNTS_INTERVAL_MS = 1_000;

/**
 * The audit events after which a connection's status may have changed (or a connection came or
 * went): each makes the counts by status be read again, and sent if they changed.
 */
export const STATUS_CHANGING_EVENTS: ReadonlySet<AuditEventType> = new Set([
  'connected',
  'reconnected',
  // Not `refreshed`: a refresh that succeeds leaves the status as it was (a degraded connection
  // that recovers is `recovered`).
  'refresh_failed',
  'recovered',
  'needs_reauth',
  'manual_refresh',
  'disconnected',
  'merged',
]);

/**
 * Listens on the audit NOTIFY channel and turns each notification into server-sent events for
 * the consoles connected to this replica: the audit event itself and, when it concerns a
 * connection, the connection as it is now. Does no work while nobody listens.
 *
 * Each stream belongs to the admin session that opened it and ends when that session does:
 * at a logout on any replica (its `logout` audit event arrives here too), and at the session's
 * absolute expiry or idle timeout (checked every {@link SESSION_CHECK_INTERVAL_MS}). An open
 * stream is not activity: it never keeps its session alive.
 */
@Injectable()
export class EventsService
  implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger(EventsService.name);
  private readonly events = new Subject<ServerEventDto>();
  private subscribers = 0;
  /** The open streams by the hash of the session that opened each. */
  private readonly streamsBySession = new Map<
    string,
    Set<Subscriber<ServerEventDto>>
  >();
  private sessionCheckTimer: NodeJS.Timeout | undefined;
  private client: Client | undefined;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private countsTimer: NodeJS.Timeout | undefined;
  private countsSentAt = 0;
  /** The counts last sent (JSON); none while nobody listens, so a new console gets the next. */
  private lastCounts: string | undefined;

  constructor(
    private readonly database: Database,
    private readonly connections: ConnectionsRepository,
    @Inject(DATABASE_TARGET) private readonly target: DatabaseTarget,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sessions: SessionService,
  ) {}

  onModuleInit(): void {
    void this.listen();
    this.sessionCheckTimer = setInterval(
      () => void this.endStreamsOfEndedSessions(),
      SESSION_CHECK_INTERVAL_MS,
    );
    this.sessionCheckTimer.unref();
  }

  /**
   * The stream for one console, tied to the session (by its id hash) that opened it; counts
   * subscribers so idle replicas skip the reads.
   */
  stream(sessionIdHash: string): Observable<ServerEventDto> {
    return new Observable<ServerEventDto>((subscriber) => {
      this.subscribers += 1;
      let streams = this.streamsBySession.get(sessionIdHash);
      if (!streams) {
        streams = new Set();
        this.streamsBySession.set(sessionIdHash, streams);
      }
      streams.add(subscriber);
      const subscription = this.events.subscribe(subscriber);
      return () => {
        this.subscribers -= 1;
        if (this.subscribers === 0) this.lastCounts = undefined;
        subscription.unsubscribe();
        const current = this.streamsBySession.get(sessionIdHash);
        current?.delete(subscriber);
        if (current?.size === 0) this.streamsBySession.delete(sessionIdHash);
      };
    });
  }

  /**
   * Ends every open stream whose session is no longer live (logged out, expired or idle): one
   * SELECT for all of this replica's streams, none while there are none. If the database cannot
   * answer, the streams stay open until the next check.
   */
  async endStreamsOfEndedSessions(): Promise<void> {
    const idHashes = [...this.streamsBySession.keys()];
    if (idHashes.length === 0) return;
    let live: Set<string>;
    try {
      live = await this.sessions.liveSessions(idHashes);
    } catch (error) {
      this.logger.warn(
        { err: error },
        'Could not check the sessions of the open event streams',
      );
      return;
    }
    for (const idHash of idHashes) {
      if (live.has(idHash)) continue;
      for (const subscriber of [...(this.streamsBySession.get(idHash) ?? [])])
        subscriber.complete();
    }
  }

  /**
   * Ends every open stream before the HTTP server closes: the server waits for open requests,
   * and an event stream never finishes by itself.
   */
  beforeApplicationShutdown(): void {
    this.stopping = true;
    clearInterval(this.sessionCheckTimer);
    clearTimeout(this.countsTimer);
    this.countsTimer = undefined;
    this.events.complete();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    await this.client?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    if (this.stopping) return;
    const client = new Client({
      connectionString: this.target.url,
      connectionTimeoutMillis: 3_000,
      ...(this.target.schema
        ? { options: `-c search_path=${this.target.schema}` }
        : {}),
    });
    client.on('notification', (message) => void this.forward(message));
    client.on('error', () => this.scheduleReconnect(client));
    client.on('end', () => this.scheduleReconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN "${eventsChannel(this.target.schema)}"`);
      // Shut down while connecting or while LISTEN was on its way: this client must not
      // outlive the app (it kept a test run from exiting, holding its socket forever).
      if (this.stopping) {
        await client.end();
        return;
      }
      this.client = client;
      this.reconnectAttempt = 0;
    } catch {
      this.scheduleReconnect(client);
    }
  }

  private scheduleReconnect(client: Client): void {
    if (this.stopping || this.reconnectTimer) return;
    if (this.client === client) this.client = undefined;
    void client.end().catch(() => undefined);
    const delay =
      RECONNECT_DELAYS_MS[
        Math.min(this.reconnectAttempt, RECONNECT_DELAYS_MS.length - 1)
      ];
    this.reconnectAttempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.listen();
    }, delay);
    this.reconnectTimer.unref();
  }

  private async forward(message: Notification): Promise<void> {
    if (this.subscribers === 0 || !message.payload) return;
    try {
      const notification = JSON.parse(message.payload) as AuditNotification;
      const dataSource = this.database.dataSource;
      const event = await dataSource
        .getRepository(AuditEventEntity)
        .findOneBy({ id: notification.auditEventId });
      if (event)
        this.events.next({
          type: 'audit.appended',
          event: toAuditEventDto(event),
        });
      // A logout on any replica: end the streams of the session it ended.
      if (event?.type === 'logout') await this.endStreamsOfEndedSessions();
      if (
        notification.connectionId &&
        event &&
        STATUS_CHANGING_EVENTS.has(event.type)
      )
        this.scheduleCounts();
      if (notification.connectionId) {
        // The public columns only: a live event never decrypts a token (on every replica).
        const connection = await this.connections.findPublic(
          notification.connectionId,
        );
        if (connection) {
          this.events.next({
            type: 'connection.changed',
            connection: toConnectionDto(
              connection,
              this.config.refresh.windowSeconds,
            ),
          });
        } else {
          this.events.next({
            type: 'connection.removed',
            connectionId: notification.connectionId,
          });
        }
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'Could not forward a live event');
    }
  }

  /**
   * Reads the counts by status soon: at once when the last read is a second back, otherwise a
   * second after it; changes meanwhile share that one read.
   */
  private scheduleCounts(): void {
    if (this.countsTimer || this.stopping) return;
    const wait = Math.max(
      0,
      this.countsSentAt + COUNTS_INTERVAL_MS - Date.now(),
    );
    this.countsTimer = setTimeout(() => void this.sendCounts(), wait);
    this.countsTimer.unref();
  }

  /** Sends `connections.counted` when the counts differ from those sent last. */
  private async sendCounts(): Promise<void> {
    // A change from here on schedules the next read (a second after this one).
    this.countsTimer = undefined;
    this.countsSentAt = Date.now();
    try {
      if (this.subscribers === 0 || this.stopping) return;
      const counts: ConnectionCountsDto = await this.connections.counts();
      const text = JSON.stringify(counts);
      if (text === this.lastCounts || this.subscribers === 0) return;
      this.lastCounts = text;
      this.events.next({ type: 'connections.counted', counts });
    } catch (error) {
      this.logger.warn({ err: error }, 'Could not count the connections');
    }
  }
}
