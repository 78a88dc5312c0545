import {
  EntityMetadata,
  EntitySubscriberInterface,
  EventSubscriber,
  InsertEvent,
  ObjectLiteral,
  UpdateEvent,
} from 'typeorm';
import {
  columnKeyRing,
  EncryptedColumns,
  encryptedColumnsOf,
} from './encrypted-column';

/**
 * An `update()` or QueryBuilder update set some of a row's secrets but not all. Every secret
 * in a row is under the row's one key id, and such an update cannot re-encrypt a secret it
 * was not given (it never reads the row), so it is refused rather than leaving the row
 * half under an old key. A programming error: pass every secret, or use `save()`.
 */
export class PartialSecretUpdateError extends Error {
  override name = PartialSecretUpdateError.name;

  constructor(entityName: string, written: string[], missing: string[]) {
    super(
      `${entityName}: an update that sets ${written.join(', ')} must also set ${missing.join(', ')} ` +
        "(a row's secrets share one key id, and a QueryBuilder update cannot re-encrypt what it is not given). " +
        'Pass every secret (null erases one), or use save().',
    );
  }
}

/**
 * Keeps the key id column right on every write, so that `key_id` always names the key that
 * every secret in the row is under (key rotation and `/health/ready` rely on it):
 *
 * - insert (`save`, `insert`, QueryBuilder): the primary key's id when a secret is set, else null;
 * - `save()` of an existing row: any secret the entity leaves out is re-encrypted from the row
 *   as loaded, so the whole row moves to the primary key;
 * - `update()` / QueryBuilder `.update().set()` (TypeORM 1.1 broadcasts them with the values
 *   set as the entity, and applies column transformers to them): the values must carry every
 *   secret of the entity, or none; see {@link PartialSecretUpdateError}.
 *
 * Writes with `{ listeners: false }` or `.callListeners(false)` bypass it: do not use them
 * on entities with encrypted columns, unless they apply {@link keyIdForUpdate} themselves.
 */
@EventSubscriber()
export class EncryptedColumnsSubscriber
  implements EntitySubscriberInterface<ObjectLiteral>
{
  beforeInsert(event: InsertEvent<ObjectLiteral>): void {
    const columns = encryptedColumnsOf(event.metadata);
    if (!columns || !event.entity) return;
    setKeyId(columns, event.entity, secretValues(columns, event.entity));
  }

  beforeUpdate(event: UpdateEvent<ObjectLiteral>): void {
    if (event.entity)
      keyIdForUpdate(event.metadata, event.entity, event.databaseEntity);
  }
}

/**
 * The rule of an update's values (`values`, changed in place): when they set a secret they set
 * the key id too; secrets they leave out are taken from `databaseEntity` (a `save()`), else
 * {@link PartialSecretUpdateError}. For statements built without listeners (a QueryBuilder
 * update whose SQL runs inside a larger statement) as much as for the subscriber.
 */
export function keyIdForUpdate(
  metadata: EntityMetadata,
  values: ObjectLiteral,
  databaseEntity?: ObjectLiteral,
): void {
  const columns = encryptedColumnsOf(metadata);
  if (!columns) return;
  const secrets = secretValues(columns, values);
  if (secrets.every((value) => value === undefined)) return;

  const missing = columns.secrets.filter(
    (_, index) => secrets[index] === undefined,
  );
  if (missing.length > 0) {
    if (!databaseEntity) {
      throw new PartialSecretUpdateError(
        metadata.name,
        columns.secrets
          .filter((_, index) => secrets[index] !== undefined)
          .map((column) => column.propertyName),
        missing.map((column) => column.propertyName),
      );
    }
    for (const column of missing)
      column.setEntityValue(values, column.getEntityValue(databaseEntity));
  }
  setKeyId(columns, values, secretValues(columns, values));
}

function secretValues(
  columns: EncryptedColumns,
  entity: ObjectLiteral,
): unknown[] {
  return columns.secrets.map((column) => {
    const value: unknown = column.getEntityValue(entity);
    if (typeof value === 'function') {
      throw new TypeError(
        `${column.propertyName} is encrypted: give it a value, not an SQL expression.`,
      );
    }
    return value;
  });
}

function setKeyId(
  columns: EncryptedColumns,
  entity: ObjectLiteral,
  values: unknown[],
): void {
  const holdsSecret = values.some(
    (value) => value !== null && value !== undefined,
  );
  columns.keyId.setEntityValue(
    entity,
    holdsSecret ? columnKeyRing.current().primaryKeyId : null,
  );
}
