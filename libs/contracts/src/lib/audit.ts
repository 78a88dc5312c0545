export const AUDIT_EVENT_TYPES = [
  'connected',
  'reconnected',
  'connect_failed',
  'refreshed',
  'refresh_failed',
  'recovered',
  'needs_reauth',
  'manual_refresh',
  /** The admin's "refresh profiles": counts of profiles listed, lost and DSP advertisers. */
  'profiles_read',
  'renamed',
  'disconnected',
  /** Two connections of one advertiser account became one (see the README, "Connect an account"). */
  'merged',
  'key_rotated',
  /** A refresh token brought in by `npm run import` or the import endpoint (details: region, profiles, line). */
  'imported',
  /** `npm run export` wrote the refresh tokens out under another key (details: connections); never a key. */
  'exported',
  /** The admin made a key for jobs (details: keyId, name, scope); never the key itself. */
  'service_key_created',
  /** The admin revoked a key for jobs (details: keyId, name). */
  'service_key_revoked',
  /** The admin made a link for an account owner (details: linkId, region, label, reconnect target); never its secret. */
  'link_created',
  /** An account owner opened a link's page (actor `link:<id>`). */
  'link_opened',
  /** The admin revoked a link (details: linkId). */
  'link_revoked',
  'login',
  'login_failed',
  'logout',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** Values an audit event may carry in its details; never a secret. */
export type AuditDetailValue = string | number | boolean | null;

export interface AuditEventDto {
  id: string;
  connectionId: string | null;
  type: AuditEventType;
  /** `admin`, `scheduler`, `service:<key id>`, `link:<link id>`, `system` or `cli`. */
  actor: string;
  correlationId: string | null;
  details: Record<string, AuditDetailValue>;
  createdAt: string;
}

/** Newest first; pass `nextCursor` as `before` to read the next page. */
export interface AuditEventPageDto {
  items: AuditEventDto[];
  nextCursor: string | null;
}
