import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { DomainError } from '../common/domain-errors';
import { Database } from '../database/database';
import { ADMIN_PASSWORD, AdminPassword } from './admin-password';
import { SecretDigest } from './secret-digest';

/** A browser that has logged in before carries this cookie, sent only to the login route. */
export const KNOWN_DEVICE_COOKIE = 'atk_device';
export const KNOWN_DEVICE_COOKIE_PATH = '/api/v1/session';
export const KNOWN_DEVICE_LIFETIME_MS = 90 * 24 * 60 * 60 * 1000;

/** The one account there is: the admin. */
const ACCOUNT = 'admin';
/** Old rows are pruned at most this often per process. */
const PRUNE_INTERVAL_MS = 60_000;

interface LimitRule {
  failures: number;
  windowSeconds: number;
  message: string;
}

/**
 * Failed logins allowed per window (see the README, "Security"):
 * - per client address (IPv6 by its /64, which one subscriber gets whole): 5 a minute;
 * - per account, for browsers that never logged in: 10 in 5 minutes. An attacker rotating
 *   addresses meets this one; since it would also stop the admin while the attack lasts, it
 *   does not apply to a browser with a known-device cookie (set at each successful login),
 * - which has its own limit instead: 5 a minute.
 */
export const LOGIN_LIMITS = {
  address: {
    failures: 5,
    windowSeconds: 60,
    message:
      'Too many login attempts from this address: wait a minute and try again.',
  },
  account: {
    failures: 10,
    windowSeconds: 300,
    message:
      'Too many failed logins from browsers that have not logged in before: wait a few minutes, or use a browser that has logged in before.',
  },
  device: {
    failures: 5,
    windowSeconds: 60,
    message:
      'Too many login attempts from this browser: wait a minute and try again.',
  },
} as const satisfies Record<string, LimitRule>;

type LimitName = keyof typeof LOGIN_LIMITS;

export class TooManyLoginAttemptsError extends DomainError {
  readonly httpStatus = 429;

  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** Who is trying to log in, as far as the limits care. */
export interface LoginClient {
  /** The client address (`request.ip`, through TRUST_PROXY). */
  address: string;
  /** The value of the known-device cookie, if the browser sent one. */
  deviceCookie?: string;
}

/** The attempts counted for one login; hand it back with {@link LoginLimiter.refund} when it was no guess. */
export interface Reservation {
  buckets: string[];
}

/** The address bucket: an IPv4 address (also when IPv4-mapped), or an IPv6 address's /64. */
export function addressBucket(address: string): string {
  const plain = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain);
  if (mapped) return `address:${mapped[1]}`;
  if (!isIPv6(plain)) return `address:${plain}`;
  const [head, tail = ''] = plain.toLowerCase().split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const groups = plain.includes('::')
    ? [
        ...headGroups,
        ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'),
        ...tailGroups,
      ]
    : headGroups;
  return `address:${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * Login limits kept in PostgreSQL (`login_attempts`), so every replica counts together. Each
 * attempt is counted before the password is checked, in one upsert that returns the counts:
 * simultaneous guesses cannot slip past the limit. A successful login, or an attempt refused
 * for the limit, is handed back, so only wrong passwords count.
 */
@Injectable()
export class LoginLimiter {
  private readonly logger = new Logger(LoginLimiter.name);
  private readonly deviceSigner: SecretDigest;
  private lastPruneAt = 0;

  constructor(
    @Inject(ADMIN_PASSWORD) adminPassword: AdminPassword,
    private readonly database: Database,
  ) {
    this.deviceSigner = new SecretDigest(
      adminPassword.value,
      'known-device-cookie',
    );
  }

  /** Counts one attempt; throws {@link TooManyLoginAttemptsError} (counting nothing) over a limit. */
  async reserve(client: LoginClient): Promise<Reservation> {
    await this.pruneNowAndThen();
    const device = this.knownDevice(client.deviceCookie);
    const limits = new Map<string, LimitName>([
      [addressBucket(client.address), 'address'],
    ]);
    if (device) limits.set(`device:${device}`, 'device');
    else limits.set(`account:${ACCOUNT}`, 'account');
    // Always the same order, so two attempts never wait on each other's rows crosswise.
    const buckets = [...limits.keys()].sort();
    const rows: { bucket: string; failures: number; retry_after: number }[] =
      await this.database.dataSource.query(
        `INSERT INTO login_attempts AS a (bucket, window_started_at, window_seconds, failures)
       SELECT bucket, now(), window_seconds, 1 FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS t(bucket, window_seconds, n)
       ORDER BY n
       ON CONFLICT (bucket) DO UPDATE SET
         failures = CASE WHEN a.window_started_at + make_interval(secs => a.window_seconds) <= now() THEN 1 ELSE a.failures + 1 END,
         window_started_at = CASE WHEN a.window_started_at + make_interval(secs => a.window_seconds) <= now() THEN now() ELSE a.window_started_at END,
         window_seconds = EXCLUDED.window_seconds
       RETURNING bucket, failures,
         GREATEST(1, CEIL(EXTRACT(EPOCH FROM a.window_started_at + make_interval(secs => a.window_seconds) - now())))::int AS retry_after`,
        [
          buckets,
          buckets.map(
            (bucket) =>
              LOGIN_LIMITS[limits.get(bucket) as LimitName].windowSeconds,
          ),
        ],
      );
    const over = rows
      .map((row) => ({
        ...row,
        rule: LOGIN_LIMITS[limits.get(row.bucket) as LimitName],
      }))
      .filter((row) => row.failures > row.rule.failures)
      .sort((a, b) => b.retry_after - a.retry_after);
    const reservation = { buckets };
    if (over.length > 0) {
      await this.refund(reservation);
      throw new TooManyLoginAttemptsError(
        over[0].rule.message,
        over[0].retry_after,
      );
    }
    return reservation;
  }

  /** Takes back an attempt that was not a wrong password. */
  async refund(reservation: Reservation): Promise<void> {
    // Rows are locked in bucket order, as the upsert takes them, or two attempts could deadlock.
    await this.database.dataSource.query(
      `UPDATE login_attempts AS a SET failures = GREATEST(a.failures - 1, 0)
       FROM (SELECT bucket FROM login_attempts WHERE bucket = ANY($1::text[]) ORDER BY bucket FOR UPDATE) AS locked
       WHERE a.bucket = locked.bucket`,
      [reservation.buckets],
    );
  }

  /** A new known-device cookie value: `<random id>.<signature>`. */
  issueDeviceCookie(): string {
    const id = randomBytes(24).toString('base64url');
    return `${id}.${this.deviceSigner.digest(id).toString('base64url')}`;
  }

  /** The device's bucket name (a hash of its id) when the cookie is authentic. */
  private knownDevice(cookieValue: string | undefined): string | undefined {
    if (typeof cookieValue !== 'string' || cookieValue.length > 200)
      return undefined;
    const [id, signature, extra] = cookieValue.split('.');
    if (!id || !signature || extra !== undefined) return undefined;
    const given = Buffer.from(signature, 'base64url');
    const expected = this.deviceSigner.digest(id);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return undefined;
    return createHash('sha256').update(id).digest('hex').slice(0, 32);
  }

  private async pruneNowAndThen(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPruneAt < PRUNE_INTERVAL_MS) return;
    this.lastPruneAt = now;
    try {
      await this.database.dataSource.query(
        // Rows in use by an attempt right now are skipped, never waited for.
        `DELETE FROM login_attempts WHERE bucket IN (
           SELECT bucket FROM login_attempts WHERE window_started_at + make_interval(secs => window_seconds) < now()
           FOR UPDATE SKIP LOCKED)`,
      );
    } catch (error) {
      this.logger.warn(
        `Pruning old login attempts failed: ${(error as Error).message}`,
      );
    }
  }
}
