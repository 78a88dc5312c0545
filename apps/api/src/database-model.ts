import { AuditEventEntity } from './audit/audit-event.entity';
import { AdminSessionEntity } from './auth/admin-session.entity';
import { OAuthStateEntity } from './connect/oauth-state.entity';
import { ConnectionEntity } from './connections/connection.entity';
import { EncryptedColumnsSubscriber } from './crypto/encrypted-columns.subscriber';
import type { DatabaseModel } from './database/data-source-options';

/** Every table the API maps, for the API, the CLI and the tests alike. */
export const DATABASE_MODEL: DatabaseModel = {
  entities: [
    ConnectionEntity,
    OAuthStateEntity,
    AuditEventEntity,
    AdminSessionEntity,
  ],
  // Keeps `key_id` right on every write to an entity with encrypted columns.
  subscribers: [EncryptedColumnsSubscriber],
};
