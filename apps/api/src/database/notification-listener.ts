import { Client } from 'pg';
import type { DatabaseTarget } from './data-source-options';

const RECONNECT_DELAYS_MS = [1_000, 2_000, 5_000, 10_000];

export interface NotificationListenerOptions {
  target: DatabaseTarget;
  channel: string;
  /** Each notification's payload (may be empty). */
  onNotification(payload: string): void;
  /**
   * After every successful LISTEN, the first one included: notifications sent while no
   * client listened are lost, so a listener that keeps state reads it again here.
   */
  onListening?(): void;
}

/**
 * One dedicated PostgreSQL client LISTENing on one channel, reconnecting with backoff (1 s, 2 s,
 * 5 s, then every 10 s) whenever the connection errors or ends, with the discipline of
 * `EventsService`: a client that finishes connecting after `stop()` is closed at once, so it
 * never outlives the app.
 */
export class NotificationListener {
  private client: Client | undefined;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly options: NotificationListenerOptions) {}

  start(): void {
    void this.listen();
  }

  get listening(): boolean {
    return this.client !== undefined;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
  }

  private async listen(): Promise<void> {
    if (this.stopping) return;
    const { target } = this.options;
    const client = new Client({
      connectionString: target.url,
      connectionTimeoutMillis: 3_000,
      ...(target.schema ? { options: `-c search_path=${target.schema}` } : {}),
    });
    client.on('notification', (message) => {
      if (message.channel === this.options.channel)
        this.options.onNotification(message.payload ?? '');
    });
    client.on('error', () => this.scheduleReconnect(client));
    client.on('end', () => this.scheduleReconnect(client));
    try {
      await client.connect();
      await client.query(`LISTEN "${this.options.channel}"`);
      if (this.stopping) {
        await client.end();
        return;
      }
      this.client = client;
      this.reconnectAttempt = 0;
      this.options.onListening?.();
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
}
