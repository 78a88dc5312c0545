import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHash } from 'node:crypto';
import type { ServerEventDto, SystemStatusDto } from '@keeper/contracts';
import { Fernet } from '@keeper/fernet';
import { RunningSandbox, startLwaSandbox } from '@keeper/lwa-sandbox';
import {
  connectAccount,
  logIn,
  sandboxEnvironment,
} from '../../test/connect-flow';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { startTestApp } from '../../test/test-app';
import { EventsService } from './events.service';

/** Whether the server ends the stream within `timeoutMs` (reading and dropping what it sends). */
async function streamEnds(
  response: Response,
  timeoutMs = 10_000,
): Promise<boolean> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'open'>((resolve) => {
    timer = setTimeout(() => resolve('open'), timeoutMs);
  });
  const drain = (async () => {
    for (;;) {
      const { done } = await reader.read();
      if (done) return 'ended' as const;
    }
  })();
  const outcome = await Promise.race([drain, timeout]);
  clearTimeout(timer);
  if (outcome === 'open') await reader.cancel();
  return outcome === 'ended';
}

/** Opens a stream and waits for its first bytes (`retry:`), so it is subscribed when this returns. */
async function openStream(baseUrl: string, cookie: string): Promise<Response> {
  const response = await fetch(`${baseUrl}/api/v1/events`, {
    headers: { cookie },
  });
  expect(response.status).toBe(200);
  const [first, rest] = (response.body as ReadableStream<Uint8Array>).tee();
  const reader = first.getReader();
  await reader.read();
  reader.releaseLock();
  void first.cancel();
  return new Response(rest, {
    status: response.status,
    headers: response.headers,
  });
}

function sessionIdHash(cookie: string): string {
  return createHash('sha256')
    .update(cookie.slice('atk_session='.length).split('.')[0])
    .digest('hex');
}

/** Reads server-sent events from a live stream until `count` have arrived. */
async function readEvents(
  response: Response,
  count: number,
  timeoutMs = 10_000,
): Promise<ServerEventDto[]> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: ServerEventDto[] = [];
  let buffer = '';
  const deadline = Date.now() + timeoutMs;
  while (events.length < count && Date.now() < deadline) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<{ done: true; value: undefined }>((resolve) => {
      timer = setTimeout(
        () => resolve({ done: true, value: undefined }),
        deadline - Date.now(),
      );
    });
    const { value, done } = await Promise.race([reader.read(), timeout]);
    clearTimeout(timer);
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').find((line) => line.startsWith('data: '));
      if (data) events.push(JSON.parse(data.slice(6)) as ServerEventDto);
      end = buffer.indexOf('\n\n');
    }
  }
  await reader.cancel();
  return events;
}

describe('live events and the system page', () => {
  let database: TestDatabase;
  let sandbox: RunningSandbox;
  let sut: NestFastifyApplication;
  let url: string;
  let cookie: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    sandbox = await startLwaSandbox();
    sut = await startTestApp(database, sandboxEnvironment(sandbox));
    await sut.listen({ port: 0, host: '127.0.0.1' });
    url = await sut.getUrl();
    cookie = await logIn(sut);
  });

  afterAll(async () => {
    await sut?.close();
    await sandbox?.close();
    await database?.drop();
  });

  it('streams the audit event and the changed connection when something happens, after commit', async () => {
    const id = await connectAccount(sut, cookie, { account: 'Live Co' });
    const stream = await fetch(`${url}/api/v1/events`, { headers: { cookie } });
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    // Give the stream a moment to subscribe before the change happens.
    await new Promise((resolve) => setTimeout(resolve, 200));

    await sut.inject({
      method: 'PATCH',
      url: `/api/v1/connections/${id}`,
      headers: { cookie },
      payload: { label: 'Live Co renamed' },
    });
    const events = await readEvents(stream, 2);

    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'audit.appended',
          event: expect.objectContaining({ type: 'renamed', connectionId: id }),
        }),
        expect.objectContaining({
          type: 'connection.changed',
          connection: expect.objectContaining({ id, label: 'Live Co renamed' }),
        }),
      ]),
    );
    expect(JSON.stringify(events)).not.toMatch(/Atz[ar]\|/);
  });

  it('sends the changed connection without decrypting it: a row under a key the app lacks still arrives', async () => {
    const id = await connectAccount(sut, cookie, { account: 'Unreadable Co' });
    const [saved] = await database.query<{
      access_token_ciphertext: string;
      refresh_token_ciphertext: string;
    }>(
      'SELECT access_token_ciphertext, refresh_token_ciphertext FROM connections WHERE id = $1',
      [id],
    );
    // Ciphertexts no key in FERNET_KEYS opens: reading them would throw.
    const foreign = new Fernet(Fernet.generateKey());
    await database.query(
      'UPDATE connections SET access_token_ciphertext = $2, refresh_token_ciphertext = $3 WHERE id = $1',
      [id, foreign.encrypt('Atza|foreign'), foreign.encrypt('Atzr|foreign')],
    );
    try {
      const stream = await openStream(url, cookie);

      await sut.inject({
        method: 'PATCH',
        url: `/api/v1/connections/${id}`,
        headers: { cookie },
        payload: { label: 'Unreadable Co renamed' },
      });
      const events = await readEvents(stream, 2);

      const changed = events.find(
        (event) => event.type === 'connection.changed',
      );
      const listed = await sut.inject({
        method: 'GET',
        url: `/api/v1/connections/${id}`,
        headers: { cookie },
      });
      expect(changed).toEqual({
        type: 'connection.changed',
        connection: listed.json(),
      });
      expect(listed.json()).toMatchObject({
        id,
        label: 'Unreadable Co renamed',
        status: 'active',
      });
    } finally {
      await database.query(
        'UPDATE connections SET access_token_ciphertext = $2, refresh_token_ciphertext = $3 WHERE id = $1',
        [id, saved.access_token_ciphertext, saved.refresh_token_ciphertext],
      );
    }
  });

  it('refuses the stream without a session', async () => {
    const response = await fetch(`${url}/api/v1/events`);

    expect(response.status).toBe(401);
  });

  it('sends the security headers every other answer carries', async () => {
    const stream = await fetch(`${url}/api/v1/events`, { headers: { cookie } });
    const other = await sut.inject({
      method: 'GET',
      url: '/api/v1/session',
      headers: { cookie },
    });
    await stream.body?.cancel();

    for (const name of [
      'content-security-policy',
      'x-content-type-options',
      'referrer-policy',
      'x-frame-options',
      'strict-transport-security',
    ]) {
      expect(other.headers[name]).toBeDefined();
      expect(stream.headers.get(name)).toBe(other.headers[name]);
    }
    expect(stream.headers.get('content-type')).toBe(
      'text/event-stream; charset=utf-8',
    );
    expect(stream.headers.get('cache-control')).toBe('no-store');
    expect(stream.headers.get('x-request-id')).toBeTruthy();
  });

  it("ends the streams of a session when it logs out, leaving other sessions' streams open", async () => {
    const leaving = await logIn(sut);
    const staying = await logIn(sut);
    const [ending, surviving] = [
      await openStream(url, leaving),
      await openStream(url, staying),
    ];

    const logout = await sut.inject({
      method: 'DELETE',
      url: '/api/v1/session',
      headers: { cookie: leaving },
    });

    expect(logout.statusCode).toBe(204);
    expect(await streamEnds(ending)).toBe(true);
    // The other session's stream is still open: it gets the next event.
    await sut.inject({
      method: 'DELETE',
      url: '/api/v1/session',
      headers: { cookie: await logIn(sut) },
    });
    expect(await readEvents(surviving, 1)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'audit.appended' }),
      ]),
    );
  });

  it('ends a stream on another replica when its session logs out here', async () => {
    const other = await startTestApp(database, sandboxEnvironment(sandbox));
    await other.listen({ port: 0, host: '127.0.0.1' });
    try {
      const leaving = await logIn(sut);
      const elsewhere = await openStream(await other.getUrl(), leaving);

      await sut.inject({
        method: 'DELETE',
        url: '/api/v1/session',
        headers: { cookie: leaving },
      });

      expect(await streamEnds(elsewhere)).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('ends a stream when its session goes idle or expires, and the open stream is not activity', async () => {
    const [idle, expiring, busy] = [
      await logIn(sut),
      await logIn(sut),
      await logIn(sut),
    ];
    const streams = [
      await openStream(url, idle),
      await openStream(url, expiring),
      await openStream(url, busy),
    ];
    await database.query(
      "UPDATE admin_sessions SET last_seen_at = now() - interval '31 minutes' WHERE id_hash = $1",
      [sessionIdHash(idle)],
    );
    await database.query(
      "UPDATE admin_sessions SET expires_at = now() - interval '1 second' WHERE id_hash = $1",
      [sessionIdHash(expiring)],
    );

    // What the timer runs every 30 s, run now.
    await sut.get(EventsService).endStreamsOfEndedSessions();

    expect(await streamEnds(streams[0])).toBe(true);
    expect(await streamEnds(streams[1])).toBe(true);
    expect(await streamEnds(streams[2], 500)).toBe(false);
    const [row] = await database.query<{ idle_minutes: number }>(
      'SELECT extract(epoch FROM now() - last_seen_at)::int / 60 AS idle_minutes FROM admin_sessions WHERE id_hash = $1',
      [sessionIdHash(idle)],
    );
    expect(row.idle_minutes).toBe(31);
  });

  it('tells the System page its checks, keys, scheduler and whether the sandbox stands in', async () => {
    const response = await sut.inject({
      method: 'GET',
      url: '/api/v1/system',
      headers: { cookie },
    });

    expect(response.statusCode).toBe(200);
    const status = response.json<SystemStatusDto>();
    expect(status).toMatchObject({
      usingSandbox: false,
      refreshWindowSeconds: 300,
      refreshCron: '0 * * * * *',
      refreshPausedReason: null,
    });
    expect(status.checks.map((check) => check.name)).toEqual([
      'database',
      'migrations',
      'keys',
      'scheduler',
      'amazon',
    ]);
    expect(status.checks.every((check) => check.status === 'up')).toBe(true);
    expect(status.keys).toEqual([
      expect.objectContaining({
        primary: true,
        configured: true,
        rows: expect.any(Number),
      }),
    ]);
  });

  it('ends open streams when the API shuts down, so shutdown never waits for a console', async () => {
    const other = await startTestApp(database, sandboxEnvironment(sandbox));
    await other.listen({ port: 0, host: '127.0.0.1' });
    const otherCookie = await logIn(other);
    const stream = await fetch(`${await other.getUrl()}/api/v1/events`, {
      headers: { cookie: otherCookie },
    });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();

    const started = Date.now();
    await other.close();

    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await reader.read()).done).toBe(true);
  });
});
