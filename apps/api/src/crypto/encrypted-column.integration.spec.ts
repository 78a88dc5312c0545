import { Fernet, keyIdOf } from '@keeper/fernet';
import { DataSource, Repository } from 'typeorm';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { openTestDataSource } from '../../test/test-data-source';
import { OAuthStateEntity } from '../connect/oauth-state.entity';
import { ConnectionEntity } from '../connections/connection.entity';
import {
  columnKeyRing,
  ENCRYPTED_TEXT,
  EncryptedColumn,
} from './encrypted-column';
import {
  keyIdForUpdate,
  PartialSecretUpdateError,
} from './encrypted-columns.subscriber';
import { KeyRing } from './key-ring';
import { UnreadableSecretError } from './unreadable-secret.error';

interface StoredConnection extends Record<string, unknown> {
  access_token_ciphertext: string | null;
  refresh_token_ciphertext: string | null;
  key_id: string | null;
}

describe(EncryptedColumn.name, () => {
  const [oldKey, newKey, foreignKey] = [
    Fernet.generateKey(),
    Fernet.generateKey(),
    Fernet.generateKey(),
  ];
  let database: TestDatabase;
  let dataSource: DataSource;
  let connections: Repository<ConnectionEntity>;
  let release: (() => void)[] = [];

  const useKeys = (...keys: string[]) =>
    release.push(columnKeyRing.register(new KeyRing(keys)));
  const stored = async (id: string) =>
    (
      await database.query<StoredConnection>(
        'SELECT access_token_ciphertext, refresh_token_ciphertext, key_id FROM connections WHERE id = $1',
        [id],
      )
    )[0];
  const newConnection = (fields: Partial<ConnectionEntity> = {}) =>
    connections.save(
      connections.create({
        label: 'Brand',
        region: 'na',
        status: 'active',
        accessToken: 'Atza|a1',
        refreshToken: 'Atzr|r1',
        ...fields,
      }),
    );

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await openTestDataSource(database);
    connections = dataSource.getRepository(ConnectionEntity);
  });

  afterEach(() => {
    release.forEach((done) => done());
    release = [];
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
  });

  it('stores ciphertexts under the primary key on save() and reads plaintext back', async () => {
    useKeys(newKey);

    const saved = await newConnection();
    const row = await stored(saved.id);

    expect(saved.keyId).toBe(keyIdOf(newKey));
    expect(row.key_id).toBe(keyIdOf(newKey));
    expect(
      new Fernet(newKey).decrypt(row.access_token_ciphertext ?? '').toString(),
    ).toBe('Atza|a1');
    expect(
      new Fernet(newKey).decrypt(row.refresh_token_ciphertext ?? '').toString(),
    ).toBe('Atzr|r1');
    await expect(
      connections.findOneByOrFail({ id: saved.id }),
    ).resolves.toMatchObject({
      accessToken: 'Atza|a1',
      refreshToken: 'Atzr|r1',
      keyId: keyIdOf(newKey),
    });
    expect(saved.accessToken).toBe('Atza|a1');
  });

  it('moves the whole row to the primary key when save() writes one secret of a row under an old key', async () => {
    useKeys(oldKey);
    const { id } = await newConnection();
    useKeys(newKey, oldKey);

    await connections.save({ id, accessToken: 'Atza|a2' });
    const row = await stored(id);

    expect(row.key_id).toBe(keyIdOf(newKey));
    expect(
      new Fernet(newKey).decrypt(row.refresh_token_ciphertext ?? '').toString(),
    ).toBe('Atzr|r1');
    expect(
      new Fernet(newKey).decrypt(row.access_token_ciphertext ?? '').toString(),
    ).toBe('Atza|a2');
  });

  it('re-encrypts both secrets under the primary when a loaded entity is saved', async () => {
    useKeys(oldKey);
    const { id } = await newConnection();
    useKeys(newKey, oldKey);

    const loaded = await connections.findOneByOrFail({ id });
    loaded.label = 'Renamed';
    await connections.save(loaded);

    expect((await stored(id)).key_id).toBe(keyIdOf(newKey));
    await expect(connections.findOneByOrFail({ id })).resolves.toMatchObject({
      accessToken: 'Atza|a1',
      refreshToken: 'Atzr|r1',
    });
  });

  it('keeps the key id right through update() and QueryBuilder updates that set every secret', async () => {
    useKeys(oldKey);
    const { id } = await newConnection();
    useKeys(newKey, oldKey);

    await connections.update(
      { id },
      { accessToken: 'Atza|u1', refreshToken: 'Atzr|u1' },
    );
    expect((await stored(id)).key_id).toBe(keyIdOf(newKey));

    useKeys(oldKey);
    await connections
      .createQueryBuilder()
      .update()
      .set({ accessToken: 'Atza|q1', refreshToken: 'Atzr|q1', failureCount: 2 })
      .where('id = :id', { id })
      .execute();
    expect((await stored(id)).key_id).toBe(keyIdOf(oldKey));
    await expect(connections.findOneByOrFail({ id })).resolves.toMatchObject({
      accessToken: 'Atza|q1',
      refreshToken: 'Atzr|q1',
      failureCount: 2,
    });
  });

  it('keeps the key id right in an update built to run inside another statement (keyIdForUpdate)', async () => {
    useKeys(oldKey);
    const { id } = await newConnection();
    useKeys(newKey, oldKey);
    const values: Partial<ConnectionEntity> = {
      accessToken: 'Atza|s1',
      refreshToken: 'Atzr|s1',
    };
    keyIdForUpdate(connections.metadata, values);
    const [query, parameters] = connections
      .createQueryBuilder()
      .update()
      .set(values)
      .where('id = :id', { id })
      .getQueryAndParameters();

    await dataSource.query(
      `WITH changed AS (${query} RETURNING id) SELECT id FROM changed`,
      parameters,
    );

    expect((await stored(id)).key_id).toBe(keyIdOf(newKey));
    expect(
      new Fernet(newKey)
        .decrypt((await stored(id)).access_token_ciphertext as string)
        .toString(),
    ).toBe('Atza|s1');
    expect(() =>
      keyIdForUpdate(connections.metadata, { accessToken: 'Atza|partial' }),
    ).toThrow(PartialSecretUpdateError);
  });

  it('clears the key id when every secret is erased', async () => {
    useKeys(newKey);
    const { id } = await newConnection();

    await connections.update(
      { id },
      { accessToken: null, refreshToken: null, status: 'disconnected' },
    );

    expect(await stored(id)).toEqual({
      access_token_ciphertext: null,
      refresh_token_ciphertext: null,
      key_id: null,
    });
  });

  it("refuses an update() or QueryBuilder update that sets only some of a row's secrets, and changes nothing", async () => {
    useKeys(newKey);
    const { id } = await newConnection();
    const before = await stored(id);

    await expect(
      connections.update({ id }, { accessToken: 'Atza|partial' }),
    ).rejects.toThrow(PartialSecretUpdateError);
    await expect(
      connections
        .createQueryBuilder()
        .update()
        .set({ refreshToken: null })
        .where('id = :id', { id })
        .execute(),
    ).rejects.toThrow(/must also set accessToken/);
    expect(await stored(id)).toEqual(before);
  });

  it('leaves the key id alone on writes that touch no secret', async () => {
    useKeys(oldKey);
    const { id } = await newConnection();
    useKeys(newKey, oldKey);

    await connections.update({ id }, { label: 'Label only' });
    await connections
      .createQueryBuilder()
      .update()
      .set({ failureCount: () => 'failure_count + 1' })
      .where({ id })
      .execute();

    expect((await stored(id)).key_id).toBe(keyIdOf(oldKey));
  });

  it('encrypts QueryBuilder inserts and reads them back with getMany()', async () => {
    useKeys(newKey);

    const inserted = await connections
      .createQueryBuilder()
      .insert()
      .values([
        {
          label: 'qb-1',
          region: 'eu',
          status: 'active',
          accessToken: 'Atza|qb1',
          refreshToken: 'Atzr|qb1',
        },
        {
          label: 'qb-2',
          region: 'fe',
          status: 'needs_reauth',
          accessToken: null,
          refreshToken: null,
        },
      ])
      .returning(['id'])
      .execute();
    const ids = (inserted.raw as { id: string }[]).map((row) => row.id);

    expect((await stored(ids[0])).key_id).toBe(keyIdOf(newKey));
    expect((await stored(ids[1])).key_id).toBeNull();
    const read = await connections
      .createQueryBuilder('c')
      .where('c.id IN (:...ids)', { ids })
      .orderBy('c.label')
      .getMany();
    expect(
      read.map(({ label, accessToken, refreshToken }) => ({
        label,
        accessToken,
        refreshToken,
      })),
    ).toEqual([
      { label: 'qb-1', accessToken: 'Atza|qb1', refreshToken: 'Atzr|qb1' },
      { label: 'qb-2', accessToken: null, refreshToken: null },
    ]);
  });

  it('encrypts the OAuth code verifier the same way', async () => {
    useKeys(newKey);
    const states = dataSource.getRepository(OAuthStateEntity);

    const state = await states.save(
      states.create({
        stateHash: 'hash-1',
        codeVerifier: 'v'.repeat(43),
        region: 'na',
        sessionBindingHash: 'binding',
        expiresAt: new Date(Date.now() + 600_000),
      }),
    );
    const [row] = await database.query<{
      code_verifier_ciphertext: string;
      key_id: string;
    }>(
      'SELECT code_verifier_ciphertext, key_id FROM oauth_states WHERE id = $1',
      [state.id],
    );

    expect(row.key_id).toBe(keyIdOf(newKey));
    expect(row.code_verifier_ciphertext).not.toContain('vvvv');
    await expect(
      states.findOneByOrFail({ id: state.id }),
    ).resolves.toMatchObject({ codeVerifier: 'v'.repeat(43) });
    await states.update({ id: state.id }, { codeVerifier: null });
    expect((await states.findOneByOrFail({ id: state.id })).keyId).toBeNull();
  });

  it('answers a row under a key that is no longer configured with a domain error, not a crash', async () => {
    useKeys(foreignKey);
    const { id } = await newConnection({
      accessToken: 'Atza|canary',
      refreshToken: 'Atzr|canary',
    });
    useKeys(newKey);

    const failure = connections.findOneByOrFail({ id });

    await expect(failure).rejects.toBeInstanceOf(UnreadableSecretError);
    await expect(failure).rejects.not.toThrow(/canary|gAAAA/);
    await expect(
      connections.findOne({
        where: { id },
        select: { id: true, label: true, keyId: true },
      }),
    ).resolves.toEqual({
      id,
      label: 'Brand',
      keyId: keyIdOf(foreignKey),
    });
  });
});

describe('columnKeyRing', () => {
  const rings = [
    new KeyRing([Fernet.generateKey()]),
    new KeyRing([Fernet.generateKey()]),
  ];

  it('uses the newest registration and falls back when it is released, whatever the order', () => {
    const releaseFirst = columnKeyRing.register(rings[0]);
    const releaseSecond = columnKeyRing.register(rings[1]);
    expect(columnKeyRing.current()).toBe(rings[1]);

    releaseFirst();
    expect(columnKeyRing.current()).toBe(rings[1]);
    releaseFirst();
    releaseSecond();
    expect(() => columnKeyRing.current()).toThrow(/No key ring is registered/);
  });

  it('passes nulls through and refuses what is not text', () => {
    const releaseRing = columnKeyRing.register(rings[0]);
    try {
      expect(ENCRYPTED_TEXT.to(null)).toBeNull();
      expect(ENCRYPTED_TEXT.from(null)).toBeNull();
      expect(() => ENCRYPTED_TEXT.to(42)).toThrow(TypeError);
    } finally {
      releaseRing();
    }
  });
});
