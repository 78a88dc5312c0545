/**
 * The PostgreSQL NOTIFY channel that carries "an audit event was appended" to every replica.
 * Per schema, so test runs sharing a server do not hear each other.
 */
export function eventsChannel(schema: string | undefined): string {
  return schema ? `atk_events_${schema}` : 'atk_events';
}

/** What a notification carries: ids only; listeners read the rows they care about. */
export interface AuditNotification {
  auditEventId: string;
  connectionId: string | null;
}
