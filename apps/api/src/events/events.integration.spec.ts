import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { ServerEventDto, SystemStatusDto } from '@keeper/contracts';
import { RunningSandbox, startLwaSandbox } from '@keeper/lwa-sandbox';
import { connectAccount, logIn, sandboxEnvironment } from '../../test/connect-flow';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { startTestApp } from '../../test/test-app';

/** Reads server-sent events from a live stream until `count` have arrived. */
async function readEvents(response: Response, count: number, timeoutMs = 10_000): Promise<ServerEventDto[]> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: ServerEventDto[] = [];
  let buffer = '';
  const deadline = Date.now() + timeoutMs;
  while (events.length < count && Date.now() < deadline) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<{ done: true; value: undefined }>((resolve) => {
      timer = setTimeout(() => resolve({ done: true, value: undefined }), deadline - Date.now());
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

    await sut.inject({ method: 'PATCH', url: `/api/v1/connections/${id}`, headers: { cookie }, payload: { label: 'Live Co renamed' } });
    const events = await readEvents(stream, 2);

    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'audit.appended', event: expect.objectContaining({ type: 'renamed', connectionId: id }) }),
        expect.objectContaining({ type: 'connection.changed', connection: expect.objectContaining({ id, label: 'Live Co renamed' }) }),
      ]),
    );
    expect(JSON.stringify(events)).not.toMatch(/Atz[ar]\|/);
  });

  it('refuses the stream without a session', async () => {
    const response = await fetch(`${url}/api/v1/events`);

    expect(response.status).toBe(401);
  });

  it('tells the System page its checks, keys, scheduler and whether the sandbox stands in', async () => {
    const response = await sut.inject({ method: 'GET', url: '/api/v1/system', headers: { cookie } });

    expect(response.statusCode).toBe(200);
    const status = response.json<SystemStatusDto>();
    expect(status).toMatchObject({ usingSandbox: false, refreshWindowSeconds: 300, refreshCron: '0 * * * * *', refreshPausedReason: null });
    expect(status.checks.map((check) => check.name)).toEqual(['database', 'migrations', 'keys', 'scheduler', 'amazon']);
    expect(status.checks.every((check) => check.status === 'up')).toBe(true);
    expect(status.keys).toEqual([expect.objectContaining({ primary: true, configured: true, rows: expect.any(Number) })]);
  });

  it('ends open streams when the API shuts down, so shutdown never waits for a console', async () => {
    const other = await startTestApp(database, sandboxEnvironment(sandbox));
    await other.listen({ port: 0, host: '127.0.0.1' });
    const otherCookie = await logIn(other);
    const stream = await fetch(`${await other.getUrl()}/api/v1/events`, { headers: { cookie: otherCookie } });
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();

    const started = Date.now();
    await other.close();

    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await reader.read()).done).toBe(true);
  });
});
