import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LessThan } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { BatchedQuery } from '../database/batched-query';
import { Database } from '../database/database';
import { ADMIN_PASSWORD, AdminPassword } from './admin-password';
import { AdminSessionEntity } from './admin-session.entity';
import { WrongPasswordError } from './auth.errors';
import { SecretDigest } from './secret-digest';

export const SESSION_COOKIE = 'atk_session';
export const SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;
/**
 * `last_seen_at` is written at most this often, not on every request; so the idle timeout
 * (SESSION_IDLE_MINUTES) is met to within this much. A short idle timeout shortens it (a
 * quarter of the timeout), or an active session would die before its activity was recorded.
 */
const TOUCH_INTERVAL_MS = 60 * 1000;

export interface ActiveSession {
  idHash: string;
  expiresAt: Date;
}

export interface IssuedSession extends ActiveSession {
  /** The cookie value: `<random id>.<signature>`. */
  cookieValue: string;
}

interface StoredSession {
  id_hash: string;
  expires_at: Date;
  last_seen_at: Date;
}

export interface RequestContext {
  ip: string;
  correlationId: string;
}

function hashId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/**
 * Admin login. The password is compared in constant time on digests; the session id is 32
 * random bytes signed with a key derived from the password (so changing `ADMIN_PASSWORD` ends
 * every session), and only its hash is stored.
 */
@Injectable()
export class SessionService {
  private readonly passwordDigest: SecretDigest;
  private readonly expectedPassword: Buffer;
  private readonly cookieSigner: SecretDigest;
  private readonly sessionLookup = new BatchedQuery<
    string,
    StoredSession | undefined
  >((idHashes) => this.lookUpSessions(idHashes));
  private readonly idleMs: number;

  constructor(
    @Inject(ADMIN_PASSWORD) adminPassword: AdminPassword,
    private readonly database: Database,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.idleMs = config.sessionIdleMs;
    this.passwordDigest = new SecretDigest(
      randomBytes(32).toString('hex'),
      'admin-password',
    );
    this.expectedPassword = this.passwordDigest.digest(adminPassword.value);
    this.cookieSigner = new SecretDigest(adminPassword.value, 'session-cookie');
  }

  async login(
    password: string,
    context: RequestContext,
  ): Promise<IssuedSession> {
    if (!this.passwordDigest.matches(password, this.expectedPassword)) {
      await this.audit.record({
        type: 'login_failed',
        actor: 'anonymous',
        correlationId: context.correlationId,
        details: { ip: context.ip },
      });
      throw new WrongPasswordError();
    }
    const id = randomBytes(32).toString('base64url');
    const now = new Date();
    const session: ActiveSession = {
      idHash: hashId(id),
      expiresAt: new Date(now.getTime() + SESSION_LIFETIME_MS),
    };
    const sessions = this.database.repository(AdminSessionEntity);
    await sessions.delete([
      { expiresAt: LessThan(now) },
      { lastSeenAt: LessThan(new Date(now.getTime() - this.idleMs)) },
    ]);
    await sessions.insert({ ...session, lastSeenAt: now });
    await this.audit.record({
      type: 'login',
      actor: 'admin',
      correlationId: context.correlationId,
      details: { ip: context.ip },
    });
    return {
      ...session,
      cookieValue: `${id}.${this.cookieSigner.digest(id).toString('base64url')}`,
    };
  }

  /**
   * The session a cookie stands for, if it is authentic, known, not expired and not idle for
   * longer than SESSION_IDLE_MINUTES. Resolving it counts as activity.
   */
  async resolve(
    cookieValue: string | undefined,
  ): Promise<ActiveSession | undefined> {
    const id = this.verifiedId(cookieValue);
    if (!id) return undefined;
    const idHash = hashId(id);
    const session = await this.sessionLookup.run(idHash);
    if (!session || !this.isLive(session, Date.now())) return undefined;
    return { idHash, expiresAt: session.expires_at };
  }

  /**
   * Which of these sessions are still live (not logged out, expired or idle), in one SELECT and
   * without counting as activity: the event streams ask this about their sessions.
   */
  async liveSessions(idHashes: readonly string[]): Promise<Set<string>> {
    if (idHashes.length === 0) return new Set();
    const rows: StoredSession[] = await this.database.dataSource.query(
      'SELECT id_hash, expires_at, last_seen_at FROM admin_sessions WHERE id_hash = ANY($1::text[])',
      [[...new Set(idHashes)]],
    );
    const now = Date.now();
    return new Set(
      rows.filter((row) => this.isLive(row, now)).map((row) => row.id_hash),
    );
  }

  private isLive(session: StoredSession, now: number): boolean {
    return (
      session.expires_at.getTime() > now &&
      now - session.last_seen_at.getTime() < this.idleMs
    );
  }

  /**
   * Every admin request runs this: one plain SELECT for all the sessions asked for in one turn
   * of the event loop (TypeORM's findOneBy() cost more CPU than the query), then one UPDATE of
   * `last_seen_at` for the live ones not seen for a minute (an idle-expired session stays dead).
   */
  private async lookUpSessions(
    idHashes: readonly string[],
  ): Promise<(StoredSession | undefined)[]> {
    const dataSource = this.database.dataSource;
    const rows: StoredSession[] = await dataSource.query(
      'SELECT id_hash, expires_at, last_seen_at FROM admin_sessions WHERE id_hash = ANY($1::text[])',
      [[...new Set(idHashes)]],
    );
    const now = Date.now();
    const unseen = rows
      .filter(
        (row) =>
          this.isLive(row, now) &&
          now - row.last_seen_at.getTime() >
            Math.min(TOUCH_INTERVAL_MS, this.idleMs / 4),
      )
      .map((row) => row.id_hash);
    if (unseen.length > 0) {
      await dataSource.query(
        'UPDATE admin_sessions SET last_seen_at = $2 WHERE id_hash = ANY($1::text[])',
        [unseen, new Date(now)],
      );
    }
    const byHash = new Map(rows.map((row) => [row.id_hash, row]));
    return idHashes.map((idHash) => byHash.get(idHash));
  }

  async logout(session: ActiveSession, correlationId: string): Promise<void> {
    await this.database
      .repository(AdminSessionEntity)
      .delete({ idHash: session.idHash });
    await this.audit.record({ type: 'logout', actor: 'admin', correlationId });
  }

  private verifiedId(cookieValue: string | undefined): string | undefined {
    if (typeof cookieValue !== 'string' || cookieValue.length > 200)
      return undefined;
    const [id, signature, extra] = cookieValue.split('.');
    if (!id || !signature || extra !== undefined) return undefined;
    const given = Buffer.from(signature, 'base64url');
    const expected = this.cookieSigner.digest(id);
    return given.length === expected.length && timingSafeEqual(given, expected)
      ? id
      : undefined;
  }
}
