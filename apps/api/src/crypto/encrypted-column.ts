import { Column, DataSource, EntityMetadata, ValueTransformer } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import { KeyRing } from './key-ring';

const registrations: { keyRing: KeyRing }[] = [];

/**
 * The key ring behind every {@link EncryptedColumn}. A column transformer is created when its
 * entity class loads, long before any key ring exists, so it looks the ring up here on each
 * use. The Crypto module registers its ring when it is constructed and releases it at
 * shutdown; the CLI and tests that use entities outside Nest do the same.
 *
 * Registrations stack: the newest one still held is used, and releasing it brings back the
 * previous one. So apps started one after another in one process (as tests do) are safe. One
 * process holds one key ring at a time: two live apps with different FERNET_KEYS in one
 * process would both encrypt with the newer ring.
 */
export const columnKeyRing = {
  /** @returns the release function; calling it again does nothing. */
  register(keyRing: KeyRing): () => void {
    const registration = { keyRing };
    registrations.push(registration);
    return () => {
      const index = registrations.indexOf(registration);
      if (index >= 0) registrations.splice(index, 1);
    };
  },

  /** @throws Error when no key ring is registered (an entity used outside the API's start-up). */
  current(): KeyRing {
    const keyRing = registrations.at(-1)?.keyRing;
    if (!keyRing) {
      throw new Error(
        'No key ring is registered for encrypted columns: start the Crypto module (or call columnKeyRing.register) first.',
      );
    }
    return keyRing;
  },
};

/**
 * Plaintext in the entity, a Fernet ciphertext under the primary key in the database. Never a
 * TTL on read. A ciphertext no configured key opens throws `UnreadableSecretError`.
 */
export const ENCRYPTED_TEXT: ValueTransformer = {
  to(plaintext: unknown): unknown {
    if (plaintext === null || plaintext === undefined) return plaintext;
    if (typeof plaintext !== 'string')
      throw new TypeError('An encrypted column holds text or null.');
    return columnKeyRing.current().encrypt(plaintext);
  },
  from(ciphertext: unknown): unknown {
    if (ciphertext === null || ciphertext === undefined) return null;
    return columnKeyRing.current().decrypt(String(ciphertext));
  },
};

/**
 * A secret kept encrypted in a `text` column (named `name`, e.g. `access_token_ciphertext`) and
 * seen as plaintext by the code: `string | null`. The entity needs a {@link KeyIdColumn};
 * `EncryptedColumnsSubscriber` keeps it right on every write.
 */
export function EncryptedColumn(name: string): PropertyDecorator {
  return Column({
    name,
    type: 'text',
    nullable: true,
    transformer: ENCRYPTED_TEXT,
  });
}

const keyIdProperties = new WeakMap<object, string>();

/**
 * The `key_id` column: the id of the key every secret in the row is under (`null` when the row
 * holds none). Written by `EncryptedColumnsSubscriber`, never by hand.
 */
export function KeyIdColumn(): PropertyDecorator {
  const column = Column({ name: 'key_id', type: 'text', nullable: true });
  return (target, propertyKey) => {
    column(target, propertyKey);
    keyIdProperties.set(target.constructor, String(propertyKey));
  };
}

/** An entity's encrypted columns and its key id column. */
export interface EncryptedColumns {
  secrets: ColumnMetadata[];
  keyId: ColumnMetadata;
}

const encryptedColumnsCache = new WeakMap<
  EntityMetadata,
  EncryptedColumns | null
>();

/** `undefined` for an entity without encrypted columns. */
export function encryptedColumnsOf(
  metadata: EntityMetadata,
): EncryptedColumns | undefined {
  const cached = encryptedColumnsCache.get(metadata);
  if (cached !== undefined) return cached ?? undefined;
  const secrets = metadata.columns.filter(
    (column) => column.transformer === ENCRYPTED_TEXT,
  );
  let found: EncryptedColumns | null = null;
  if (secrets.length > 0) {
    const keyIdProperty =
      typeof metadata.target === 'function'
        ? keyIdProperties.get(metadata.target)
        : undefined;
    const keyId = keyIdProperty
      ? metadata.findColumnWithPropertyName(keyIdProperty)
      : undefined;
    if (!keyId)
      throw new Error(
        `${metadata.name} has encrypted columns but no @KeyIdColumn()`,
      );
    found = { secrets, keyId };
  }
  encryptedColumnsCache.set(metadata, found);
  return found ?? undefined;
}

/** A table with encrypted columns, as raw SQL (key rotation, key usage) needs it. */
export interface EncryptedTable {
  /** The entity's name, for people: `ConnectionEntity`. */
  entityName: string;
  /** Quoted, schema-qualified when the DataSource has a schema. */
  sqlName: string;
  tableName: string;
  primaryColumn: { sqlName: string; type: string };
  secretColumns: string[];
  keyIdColumn: string;
}

/**
 * Every table of `dataSource` with encrypted columns, by table name; a new encrypted entity
 * joins by itself.
 */
export function encryptedTables(dataSource: DataSource): EncryptedTable[] {
  const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const metadatas = [...dataSource.entityMetadatas].sort((a, b) =>
    a.tableName.localeCompare(b.tableName),
  );
  return metadatas.flatMap((metadata) => {
    const columns = encryptedColumnsOf(metadata);
    if (!columns) return [];
    const [primary] = metadata.primaryColumns;
    return [
      {
        entityName: metadata.name,
        sqlName: metadata.schema
          ? `${quote(metadata.schema)}.${quote(metadata.tableName)}`
          : quote(metadata.tableName),
        tableName: metadata.tableName,
        primaryColumn: {
          sqlName: quote(primary.databaseName),
          type: String(primary.type),
        },
        secretColumns: columns.secrets.map((column) =>
          quote(column.databaseName),
        ),
        keyIdColumn: quote(columns.keyId.databaseName),
      },
    ];
  });
}
