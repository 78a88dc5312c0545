import { Inject, Injectable } from '@nestjs/common';
import {
  CONNECT_LINK_DEFAULT_HOURS,
  type ConnectLinkDto,
  type ConnectLinkState,
  type CreateConnectLinkRequest,
  type CreatedConnectLinkDto,
  type Region,
} from '@keeper/contracts';
import { createHash } from 'node:crypto';
import { AuditService } from '../audit/audit.service';
import { randomToken } from '../common/random-token';
import { DomainError, NotFoundError } from '../common/domain-errors';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { API_PREFIX } from '../common/api-prefix';
import { ConnectionsRepository } from '../connections/connections.repository';
import { Database } from '../database/database';
import { ConnectResult, linkRefusal } from './amazon-connect.service';

/** The owner's page of a link: `/api/v1/connect/<secret>`. */
export const CONNECT_LINK_PATH = `/${API_PREFIX}/connect`;
/** 32 random bytes, base64url: a link's secret. */
export const LINK_SECRET = /^[A-Za-z0-9_-]{43}$/;

/** A reconnect link for a connection that is gone (disconnected) or not there. */
export class ReconnectTargetError extends DomainError {
  readonly httpStatus = 400;
}

interface LinkRow {
  id: string;
  region: Region;
  label: string | null;
  connection_id: string | null;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
  result_connection_id: string | null;
}

/** Never `secret_hash`. */
const COLUMNS =
  'id, region, label, connection_id, created_by, created_at, expires_at, used_at, revoked_at, result_connection_id';

export function linkSecretHash(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** An open link as its owner's page shows it. */
export interface OpenLink {
  id: string;
  region: Region;
  label: string | null;
  connectionId: string | null;
  expiresAt: Date;
}

/**
 * Links for account owners (README: "Onboarding with connect links"): the admin makes, lists
 * and revokes them; the owner opens one and consents with no keeper login. Each is stored as
 * the SHA-256 of its secret only; every step is audited (the owner's as `link:<id>`).
 */
@Injectable()
export class ConnectLinksService {
  constructor(
    private readonly database: Database,
    private readonly connections: ConnectionsRepository,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async list(): Promise<ConnectLinkDto[]> {
    const rows: LinkRow[] = await this.database.dataSource.query(
      `SELECT ${COLUMNS} FROM connect_links ORDER BY created_at DESC, id`,
    );
    return rows.map(toDto);
  }

  /** `request` is validated already (region, label, hours 1..168, a well-formed id). */
  async create(
    request: CreateConnectLinkRequest,
    correlationId: string,
  ): Promise<CreatedConnectLinkDto> {
    const secret = randomToken();
    const hours = request.expiresInHours ?? CONNECT_LINK_DEFAULT_HOURS;
    const connectionId = request.connectionId?.toLowerCase() ?? null;
    const row = await this.database.dataSource.transaction(async (manager) => {
      if (connectionId) {
        const target = await this.connections.find(connectionId, manager);
        if (!target || target.status === 'disconnected')
          throw new ReconnectTargetError(
            `connectionId names no live connection: ${connectionId}.`,
          );
        if (target.region !== request.region)
          throw new ReconnectTargetError(
            `The connection ${connectionId} is in region ${target.region}, not ${request.region}.`,
          );
      }
      const [created]: LinkRow[] = await manager.query(
        `INSERT INTO connect_links (secret_hash, region, label, connection_id, created_by, expires_at)
         VALUES ($1, $2, $3, $4, 'admin', now() + make_interval(hours => $5)) RETURNING ${COLUMNS}`,
        [
          linkSecretHash(secret),
          request.region,
          request.label || null,
          connectionId,
          hours,
        ],
      );
      await this.audit.record(
        {
          type: 'link_created',
          actor: 'admin',
          connectionId,
          correlationId,
          details: {
            linkId: created.id,
            region: created.region,
            label: created.label,
            expiresInHours: hours,
            reconnect: connectionId !== null,
          },
        },
        manager,
      );
      return created;
    });
    return { ...toDto(row), url: this.urlOf(secret) };
  }

  /** Soft and idempotent: a revoked link answers as it is, `revokedAt` the first time's. */
  async revoke(id: string, correlationId: string): Promise<ConnectLinkDto> {
    const row = await this.database.dataSource.transaction(async (manager) => {
      const [current]: LinkRow[] = await manager.query(
        `SELECT ${COLUMNS} FROM connect_links WHERE id = $1 FOR UPDATE`,
        [id],
      );
      if (!current) throw new NotFoundError(`There is no connect link ${id}.`);
      if (current.revoked_at) return current;
      const [revoked]: LinkRow[] = await manager.query(
        `WITH revoked AS (
           UPDATE connect_links SET revoked_at = now() WHERE id = $1 RETURNING ${COLUMNS}
         ) SELECT * FROM revoked`,
        [id],
      );
      await this.audit.record(
        {
          type: 'link_revoked',
          actor: 'admin',
          connectionId: revoked.connection_id,
          correlationId,
          details: { linkId: id, wasUsed: revoked.used_at !== null },
        },
        manager,
      );
      return revoked;
    });
    return toDto(row);
  }

  /**
   * The link behind a secret if it is open, else why not. `audit`: the owner opened its page
   * (audited as `link:<id>`, once per open).
   */
  async find(
    secret: string,
    correlationId: string,
    audit: boolean,
  ): Promise<OpenLink | ConnectResult> {
    const rows: (LinkRow & { secret_hash?: never })[] = LINK_SECRET.test(secret)
      ? await this.database.dataSource.query(
          `SELECT ${COLUMNS} FROM connect_links WHERE secret_hash = $1`,
          [linkSecretHash(secret)],
        )
      : [];
    const [row] = rows;
    const refused = linkRefusal(row);
    if (refused) return refused;
    if (audit)
      await this.audit.record({
        type: 'link_opened',
        actor: `link:${row.id}`,
        connectionId: row.connection_id,
        correlationId,
        details: { linkId: row.id },
      });
    return {
      id: row.id,
      region: row.region,
      label: row.label,
      connectionId: row.connection_id,
      expiresAt: row.expires_at,
    };
  }

  /** Where the owner goes: the API's own origin (that of the redirect URI), never the console. */
  urlOf(secret: string): string {
    return `${new URL(this.config.amazon.redirectUri).origin}${CONNECT_LINK_PATH}/${secret}`;
  }
}

export function linkState(
  row: Pick<LinkRow, 'used_at' | 'revoked_at' | 'expires_at'>,
): ConnectLinkState {
  if (row.revoked_at) return 'revoked';
  if (row.used_at) return 'used';
  if (row.expires_at.getTime() <= Date.now()) return 'expired';
  return 'open';
}

function toDto(row: LinkRow): ConnectLinkDto {
  return {
    id: row.id,
    region: row.region,
    label: row.label,
    connectionId: row.connection_id,
    state: linkState(row),
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    usedAt: row.used_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
    resultConnectionId: row.result_connection_id,
  };
}
