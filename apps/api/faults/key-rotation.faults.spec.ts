import { Fernet, FernetKeyring, keyIdOf } from '@keeper/fernet';
import { randomBytes } from 'node:crypto';
import {
  ApiProcess,
  startCli,
  StopWaiting,
  waitFor,
} from './support/api-process';
import {
  auditCounts,
  countRefreshed,
  databaseNow,
  describeGroup,
  isLiveAccessToken,
  readConnections,
  SeededConnection,
  seedConnections,
  tokenRequestsByConnection,
} from './support/fleet';
import { report, Rig, startRig } from './support/rig';

/**
 * Case 4 of issue #7: `keys rotate` (the built CLI) killed with SIGKILL part-way and run again,
 * while two API replicas keep refreshing connections that fall due one group every 2 s.
 *
 * The first run cannot finish: the test holds 20 rows locked, so the run is killed with rows
 * still under the old key whatever the machine's speed. After the kill every row must be
 * consistent (its key_id names the key that really opens it); after the second run every row is
 * under the new key, every token decrypts with the new key alone, and the old key can go.
 */
describe('fault suite: key rotation interrupted and resumed while refreshes run', () => {
  let rig: Rig;
  const oldKey = Fernet.generateKey();
  const newKey = Fernet.generateKey();
  const keys = `${newKey},${oldKey}`;
  let replicas: ApiProcess[];

  const ids = (connections: readonly SeededConnection[]) =>
    connections.map((connection) => connection.id);

  /** Every stored ciphertext, with the key id its row claims and the key that really opens it. */
  async function storedSecrets(): Promise<
    {
      table: string;
      id: string;
      keyId: string | null;
      openedBy: (string | null)[];
      plaintexts: (string | null)[];
    }[]
  > {
    const keyring = new FernetKeyring([newKey, oldKey]);
    const open = (ciphertext: string | null) => {
      if (ciphertext === null) return { keyId: null, plaintext: null };
      const { keyId, plaintext } = keyring.decryptWithKeyId(ciphertext);
      return { keyId, plaintext: plaintext.toString('utf8') };
    };
    const rows = [
      ...(
        await rig.database.query<{
          id: string;
          key_id: string | null;
          a: string | null;
          b: string | null;
        }>(
          'SELECT id::text, key_id, access_token_ciphertext AS a, refresh_token_ciphertext AS b FROM connections',
        )
      ).map((row) => ({ table: 'connections', ...row })),
      ...(
        await rig.database.query<{
          id: string;
          key_id: string | null;
          a: string | null;
          b: string | null;
        }>(
          'SELECT id::text, key_id, code_verifier_ciphertext AS a, NULL AS b FROM oauth_states',
        )
      ).map((row) => ({ table: 'oauth_states', ...row })),
    ];
    return rows.map((row) => {
      const opened = [
        open(row.a),
        ...(row.table === 'connections' ? [open(row.b)] : []),
      ];
      return {
        table: row.table,
        id: row.id,
        keyId: row.key_id,
        openedBy: opened.map((each) => each.keyId),
        plaintexts: opened.map((each) => each.plaintext),
      };
    });
  }

  beforeAll(async () => {
    rig = await startRig();
    const settings = { fernetKeys: keys };
    // The operator's step before rotating: the new key first, the old one still configured.
    replicas = await Promise.all([
      rig.startApi(
        {
          name: 'rotate-1',
          env: { REFRESH_MAX_RETRIES: '2' },
          waitReady: true,
        },
        settings,
      ),
      rig.startApi(
        {
          name: 'rotate-2',
          env: { REFRESH_MAX_RETRIES: '2' },
          waitReady: true,
        },
        settings,
      ),
    ]);
  });

  afterAll(async () => {
    await rig?.close();
  });

  it('loses nothing, ends with every row under the new key, and every token still decrypts', async () => {
    const since = await databaseNow(rig.database);
    // 240 connections not due for an hour, and 60 falling due ten at a time every 2 s.
    const idle = await seedConnections(
      rig.database,
      rig.sandbox,
      oldKey,
      240,
      'idle',
      3_600,
    );
    const due: SeededConnection[] = [];
    for (let group = 0; group < 6; group += 1) {
      due.push(
        ...(await seedConnections(
          rig.database,
          rig.sandbox,
          oldKey,
          10,
          `due-${group}`,
          300 + 2 * group,
        )),
      );
    }
    const verifiers = new Map<string, string>();
    for (let index = 0; index < 50; index += 1)
      verifiers.set(
        `state-${index}-${randomBytes(4).toString('hex')}`,
        `verifier-${randomBytes(24).toString('base64url')}`,
      );
    const fernet = new Fernet(oldKey);
    await rig.database.query(
      `INSERT INTO oauth_states (state_hash, code_verifier_ciphertext, key_id, region, session_binding_hash, expires_at)
       SELECT v.state_hash, v.verifier, $3, 'eu', 'binding', now() + interval '10 minutes'
       FROM unnest($1::text[], $2::text[]) AS v(state_hash, verifier)`,
      [
        [...verifiers.keys()],
        [...verifiers.values()].map((verifier) => fernet.encrypt(verifier)),
        keyIdOf(oldKey),
      ],
    );
    const total = idle.length + due.length + verifiers.size;
    // Rows only the rotation moves (refreshes also move the due ones, by writing new tokens).
    const underOldKey = async () =>
      (
        await rig.database.query<{ count: number }>(
          `SELECT (SELECT count(*) FROM connections WHERE key_id = $1 AND id = ANY($2::uuid[]))
                + (SELECT count(*) FROM oauth_states WHERE key_id = $1) AS count`,
          [keyIdOf(oldKey), ids(idle)],
        )
      )[0].count;
    await waitFor(
      'the first due connections to be refreshed',
      async () => (await countRefreshed(rig.database, ids(due), since)) >= 1,
      20_000,
      50,
    );

    // Twenty idle rows held by another transaction: the first run cannot finish them.
    const holder = await rig.database.pool.connect();
    let killedWithLeft = 0;
    let firstRun: Awaited<ReturnType<typeof startCli>> | undefined;
    const rotationStart = Date.now();
    try {
      await holder.query('BEGIN');
      await holder.query(
        'SELECT id FROM connections WHERE id = ANY($1::uuid[]) FOR UPDATE',
        [ids(idle.slice(0, 20))],
      );
      const before = Number(await underOldKey());
      firstRun = await startCli(
        rig.settings({ fernetKeys: keys }),
        'rotate-killed',
        ['keys', 'rotate', '--batch-size', '5'],
      );
      // Killed as soon as a few batches are in: most rows are still to do.
      const started = firstRun;
      await waitFor(
        'a few batches to commit',
        async () => {
          if (started.hasExited)
            throw new StopWaiting(
              `keys rotate ended early: ${started.output()}`,
            );
          return Number(await underOldKey()) <= before - 15;
        },
        30_000,
        5,
      );
      await firstRun.kill();
      killedWithLeft = Number(await underOldKey());
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
    }
    const afterKill = await storedSecrets();

    expect(firstRun?.exitStatus?.signal).toBe('SIGKILL');
    expect(killedWithLeft).toBeGreaterThanOrEqual(20);
    expect(killedWithLeft).toBeLessThan(idle.length + verifiers.size);
    expect(afterKill).toHaveLength(total);
    // Consistent at the kill: each row's key id is the key that opens every secret in it.
    const inconsistent = afterKill.filter((row) =>
      row.openedBy.some((keyId) => keyId !== null && keyId !== row.keyId),
    );
    expect(inconsistent).toEqual([]);

    const secondRun = await startCli(
      rig.settings({ fernetKeys: keys }),
      'rotate-resumed',
      ['keys', 'rotate', '--batch-size', '5'],
    );
    const exit = await secondRun.exited;
    const rotationEnd = Date.now();
    expect({ exit, output: secondRun.output() }).toEqual({
      exit: { code: 0, signal: null },
      output: expect.stringContaining(
        `Every stored secret is under the primary key ${keyIdOf(newKey)}.`,
      ),
    });
    await waitFor(
      'every due connection refreshed',
      async () =>
        (await countRefreshed(rig.database, ids(due), since)) === due.length,
      30_000,
      100,
      () => describeGroup(rig.database, rig.sandbox, due),
    );
    const [{ during }] = await rig.database.query<{ during: number }>(
      `SELECT count(*)::int AS during FROM audit_events WHERE type = 'refreshed' AND created_at BETWEEN $1 AND $2`,
      [new Date(rotationStart), new Date(rotationEnd)],
    );

    // Every row under the new key, every secret opened by it alone, nothing lost.
    const final = await storedSecrets();
    expect(
      final.filter(
        (row) =>
          row.keyId !== keyIdOf(newKey) ||
          row.openedBy.some((keyId) => keyId !== keyIdOf(newKey)),
      ),
    ).toEqual([]);
    const newOnly = [newKey];
    const stored = await readConnections(
      rig.database,
      newOnly,
      ids([...idle, ...due]),
    );
    for (const connection of idle) {
      expect(stored.get(connection.id)).toMatchObject({
        accessToken: connection.accessToken,
        refreshToken: connection.refreshToken,
        status: 'active',
      });
    }
    const audits = await auditCounts(rig.database, ids(due));
    const calls = tokenRequestsByConnection(rig.sandbox, due);
    for (const connection of due) {
      const row = stored.get(connection.id);
      expect({
        label: connection.label,
        status: row?.status,
        refreshToken: row?.refreshToken === connection.refreshToken,
        newAccessToken: row?.accessToken !== connection.accessToken,
        audit: audits.get(connection.id),
        calls: calls.get(connection.id)?.length,
      }).toEqual({
        label: connection.label,
        status: 'active',
        refreshToken: true,
        newAccessToken: true,
        audit: { refreshed: 1 },
        calls: 1,
      });
      expect(
        await isLiveAccessToken(rig.sandbox, row?.accessToken as string),
      ).toBe(true);
    }
    const states = await rig.database.query<{
      state_hash: string;
      code_verifier_ciphertext: string;
    }>('SELECT state_hash, code_verifier_ciphertext FROM oauth_states');
    expect(
      new Map(
        states.map((state) => [
          state.state_hash,
          new Fernet(newKey)
            .decrypt(state.code_verifier_ciphertext)
            .toString('utf8'),
        ]),
      ),
    ).toEqual(verifiers);
    const rotations = await rig.database.query<{
      details: { complete: boolean; rowsReEncrypted: number };
    }>(
      "SELECT details FROM audit_events WHERE type = 'key_rotated' ORDER BY id",
    );
    // The killed run never got to its audit event; the resumed one did, and says it finished.
    expect(rotations.map((rotation) => rotation.details.complete)).toEqual([
      true,
    ]);

    // The old key can go: `keys status` says so, and a replica with the new key alone is ready.
    const status = await startCli(
      rig.settings({ fernetKeys: keys }),
      'status',
      ['keys', 'status'],
    );
    expect(await status.exited).toEqual({ code: 0, signal: null });
    expect(status.output()).toContain(
      `Key id(s) ${keyIdOf(oldKey)} hold no rows`,
    );
    const newKeyOnly = await rig.startApi(
      { name: 'new-key-only', waitReady: true },
      { fernetKeys: newKey },
    );
    expect(await newKeyOnly.status('/health/ready')).toBe(200);
    for (const replica of replicas) {
      expect(replica.child.hasExited).toBe(false);
      expect(await replica.status('/health/ready')).toBe(200);
    }
    report('key rotation', {
      rows: total,
      connections: idle.length + due.length,
      oauthStates: verifiers.size,
      leftUnderOldKeyAtKill: killedWithLeft,
      reEncryptedByResumedRun: rotations[0]?.details.rowsReEncrypted,
      refreshedDuringRotation: during,
      dueConnectionsRefreshed: due.length,
      tokenRequests: [...calls.values()].reduce(
        (sum, each) => sum + each.length,
        0,
      ),
      rotationMs: rotationEnd - rotationStart,
    });
  });
});
