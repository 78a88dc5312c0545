import type { AuditEventDto } from './audit';
import type { ConnectionCountsDto, ConnectionDto } from './connection';

export interface ReadinessCheckDto {
  name: string;
  status: 'up' | 'down';
  message: string | null;
}

/** `GET /system` (admin): what the System page shows. */
export interface SystemStatusDto {
  usingSandbox: boolean;
  refreshWindowSeconds: number;
  refreshCron: string;
  schedulerLastTickAt: string | null;
  refreshPausedReason: string | null;
  keys: {
    keyId: string;
    primary: boolean;
    configured: boolean;
    rows: number;
  }[];
  checks: ReadinessCheckDto[];
}

/** Server-sent events from `GET /events`. */
export type ServerEventDto =
  | { type: 'connection.changed'; connection: ConnectionDto }
  | { type: 'connection.removed'; connectionId: string }
  /** Sent when a status count changed, at most once a second: the console's filter chips. */
  | { type: 'connections.counted'; counts: ConnectionCountsDto }
  | { type: 'audit.appended'; event: AuditEventDto };
