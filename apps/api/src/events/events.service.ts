import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { ServerEventDto } from '@keeper/contracts';
import { Client, Notification } from 'pg';
import { Observable, Subject } from 'rxjs';
import { AuditEventEntity } from '../audit/audit-event.entity';
import { toAuditEventDto } from '../audit/audit-log.reader';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DATABASE_TARGET } from '../database/database.tokens';
import { DatabaseService } from '../database/database.service';
import { DatabaseTarget } from '../database/data-source-options';
import { ConnectionEntity } from '../token/connection.entity';
import { toConnectionDto } from '../token/connection.mapper';
import { AuditNotification, eventsChannel } from './events-channel';

const RECONNECT_DELAYS_MS = [1_000, 2_000, 5_000, 10_000];

/**
 * Listens on the audit NOTIFY channel and turns each notification into server-sent events for
 * the consoles connected to this replica: the audit event itself and, when it concerns a
 * connection, the connection as it is now. Does no work while nobody listens.
 */
@Injectable()
export class EventsService implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(EventsService.name);
  private readonly events = new Subject<ServerEventDto>();
  private subscribers = 0;
  private client: Client | undefined;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(
    private readonly database: DatabaseService,
    @Inject(DATABASE_TARGET) private readonly target: DatabaseTarget,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    void this.listen();
  }

  /** The stream for one console; counts subscribers so idle replicas skip the reads. */
  stream(): Observable<ServerEventDto> {
    return new Observable<ServerEventDto>((subscriber) => {
      this.subscribers += 1;
      const subscription = this.events.subscribe(subscriber);
      return () => {
        this.subscribers -= 1;
        subscription.unsubscribe();
      };
    });
  }

  /**
   * Ends every open stream before the HTTP server closes: the server waits for open requests,
   * and an event stream never finishes by itself.
   */
  beforeApplicationShutdown(): void {
    this.stopping = true;
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
      ...(this.target.schema ? { options: `-c search_path=${this.target.schema}` } : {}),
    });
    client.on('notification', (message) => void this.forward(message));
    client.on('error', () => this.scheduleReconnect(client));
    client.on('end', () => this.scheduleReconnect(client));
    try {
      await client.connect();
      // Shut down while connecting: this client must not outlive the app (it would keep the
      // process alive).
      if (this.stopping) {
        await client.end();
        return;
      }
      await client.query(`LISTEN "${eventsChannel(this.target.schema)}"`);
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
    const delay = RECONNECT_DELAYS_MS[Math.min(this.reconnectAttempt, RECONNECT_DELAYS_MS.length - 1)];
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
      const event = await dataSource.getRepository(AuditEventEntity).findOneBy({ id: notification.auditEventId });
      if (event) this.events.next({ type: 'audit.appended', event: toAuditEventDto(event) });
      if (notification.connectionId) {
        const connection = await dataSource.getRepository(ConnectionEntity).findOneBy({ id: notification.connectionId });
        if (connection) {
          this.events.next({
            type: 'connection.changed',
            connection: toConnectionDto(connection, this.config.refresh.windowSeconds),
          });
        } else {
          this.events.next({ type: 'connection.removed', connectionId: notification.connectionId });
        }
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'Could not forward a live event');
    }
  }
}
