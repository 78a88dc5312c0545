import {
  AUDIT_EVENT_TYPES,
  type AuditDetailValue,
  type AuditEventType,
} from '@keeper/contracts';

const TYPE_LABELS: Record<AuditEventType, string> = {
  connected: 'Connected',
  reconnected: 'Reconnected',
  connect_failed: 'Connect failed',
  refreshed: 'Refreshed',
  refresh_failed: 'Refresh failed',
  recovered: 'Recovered',
  needs_reauth: 'Needs re-auth',
  manual_refresh: 'Manual refresh',
  profiles_read: 'Profiles read',
  renamed: 'Renamed',
  disconnected: 'Disconnected',
  merged: 'Merged twin',
  key_rotated: 'Key rotated',
  imported: 'Imported',
  exported: 'Exported',
  service_key_created: 'Service key created',
  service_key_revoked: 'Service key revoked',
  link_created: 'Connect link created',
  link_opened: 'Connect link opened',
  link_revoked: 'Connect link revoked',
  login: 'Logged in',
  login_failed: 'Login failed',
  logout: 'Logged out',
};

export function isAuditEventType(value: unknown): value is AuditEventType {
  return (AUDIT_EVENT_TYPES as readonly unknown[]).includes(value);
}

/** An event type in words; a type from a newer API still reads ("key_lost" → "Key lost"). */
export function auditTypeLabel(type: string): string {
  if (isAuditEventType(type)) return TYPE_LABELS[type];
  const words = type.replace(/[_.]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Event types that mean something went wrong: shown in the error colour (and words). */
export const FAILURE_TYPES: ReadonlySet<string> = new Set([
  'connect_failed',
  'refresh_failed',
  'needs_reauth',
  'login_failed',
]);

/**
 * Detail keys that could only hold a credential. The API promises never to put one in an audit
 * event; should a bug ever do so, the console still does not show it.
 */
const SECRET_KEY =
  /token$|secret|password|passwd|authorization|cookie|^code$|verifier|api_?key/i;
const HARMLESS_KEY = /^(tokenType|refreshTokenRotated)$/;

export interface AuditDetailRow {
  key: string;
  value: string;
}

/** An event's details as rows to show, any credential-like value hidden. */
export function auditDetailRows(
  details: Record<string, AuditDetailValue>,
): AuditDetailRow[] {
  return Object.entries(details ?? {}).map(([key, value]) => ({
    key,
    value:
      SECRET_KEY.test(key) && !HARMLESS_KEY.test(key)
        ? '(hidden)'
        : value === null
          ? '—'
          : String(value),
  }));
}
