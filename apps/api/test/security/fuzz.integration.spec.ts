import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { appendFileSync } from 'node:fs';
import { RunningSandbox, startLwaSandbox } from '@keeper/lwa-sandbox';
import {
  connectAccount,
  logIn,
  sandboxEnvironment,
  TEST_ADMIN_PASSWORD,
} from '../connect-flow';
import { createTestDatabase, TestDatabase } from '../test-database';
import { startTestApp } from '../test-app';
import {
  FUZZ_PROPERTIES,
  fuzzRunsFromEnv,
  FuzzTarget,
  httpSender,
  prepareFuzzTarget,
  runHttpFuzz,
} from '@keeper/test-support';
import {
  CapturedOutput,
  captureOutput,
  injectSender,
  ProcessFailureWatch,
} from './security-harness';

const SERVICE_KEY = 'svc-fuzz-key-0123456789abcdef';
/** Cases per property; the bench (or a curious engineer) sets FUZZ_RUNS higher. */
const RUNS = fuzzRunsFromEnv(process.env, 600);

/**
 * Every public input, fuzzed through the whole stack (`app.inject()`): never a 5xx, the error
 * shape on every 4xx, no error logged, no unhandled rejection. See libs/test-support/src/lib/http-fuzz.ts.
 */
describe(`fuzzing every public input (${RUNS} cases per property)`, () => {
  let database: TestDatabase;
  let sandbox: RunningSandbox;
  let sut: NestFastifyApplication;
  let output: CapturedOutput;
  let target: FuzzTarget;
  const watch = new ProcessFailureWatch();

  beforeAll(async () => {
    output = captureOutput();
    watch.start();
    database = await createTestDatabase();
    sandbox = await startLwaSandbox();
    sut = await startTestApp(database, {
      ...sandboxEnvironment(sandbox),
      SERVICE_API_KEYS: SERVICE_KEY,
      REFRESH_CRON: '0 0 0 1 1 *',
      LOG_LEVEL: 'debug',
      AMAZON_TIMEOUT_MS: '2000',
    });
    const adminCookie = await logIn(sut);
    const connectionIds = [
      await connectAccount(sut, adminCookie, {
        region: 'na',
        account: 'Fuzz One',
      }),
      await connectAccount(sut, adminCookie, {
        region: 'eu',
        account: 'Fuzz Two',
      }),
    ];
    output.newLines();
    target = {
      send: injectSender(sut),
      adminCookie,
      serviceKey: SERVICE_KEY,
      connectionIds,
      consoleUrl: 'http://localhost:4200',
      drainLogs: () => output.newLines(),
    };
  });

  afterAll(async () => {
    await sut?.close();
    await sandbox?.close();
    await database?.drop();
    watch.stop();
    output?.restore();
  });

  it.each(FUZZ_PROPERTIES)(
    '%s: never a 5xx, always the error shape, nothing unexpected logged, no unhandled rejection',
    async (name) => {
      const [report] = await runHttpFuzz(target, {
        runs: RUNS,
        properties: [name],
        endOnFailure: process.env.FUZZ_END_ON_FAILURE === 'true',
      });
      // FUZZ_REPORT=<file>: one JSON line per property (answers by kind, duration, seed).
      if (process.env.FUZZ_REPORT)
        appendFileSync(process.env.FUZZ_REPORT, `${JSON.stringify(report)}\n`);
      // A rejection nobody awaited surfaces a tick later.
      await new Promise((resolve) => setTimeout(resolve, 50));

      expect(report.counterexample ?? null).toBeNull();
      expect(report.failed).toBe(false);
      expect(report.runs).toBe(RUNS);
      expect(watch.failures).toEqual([]);
      // The cases reached the inputs, not just the guard: more than one kind of answer came back.
      expect(Object.keys(report.statuses).length).toBeGreaterThan(1);
    },
    120_000 + RUNS * 100,
  );

  describe('what the fuzzer found (kept as plain regressions)', () => {
    it.each([
      ['a NUL character', 'a\u0000b'],
      [
        'a lone surrogate (PostgreSQL jsonb refuses it in the audit row)',
        '\ud800',
      ],
      ['an escape sequence', '\u001b[31mred'],
    ])('refuses a label with %s with a 400, not a 500', async (_, label) => {
      const response = await sut.inject({
        method: 'PATCH',
        url: `/api/v1/connections/${target.connectionIds[1]}`,
        headers: {
          cookie: target.adminCookie,
          'content-type': 'application/json',
        },
        payload: JSON.stringify({ label }),
      });

      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({
        statusCode: 400,
        message: 'label must be plain text, without control characters',
      });
    });

    it.each([
      ['broken percent-encoding', '/api/v1/connections/%E2%82', 400],
      ['a bare percent sign', '/api/v1/connections/%', 400],
      [
        'a path parameter over 100 characters',
        `/api/v1/connections/${'a'.repeat(101)}`,
        414,
      ],
    ])(
      'answers a URL with %s in the error shape, with the correlation id, echoing nothing',
      async (_, url, status) => {
        const response = await sut.inject({
          method: 'GET',
          url,
          headers: { cookie: target.adminCookie, 'x-request-id': 'bad-url-1' },
        });

        expect(response.statusCode).toBe(status);
        expect(response.headers['x-request-id']).toBe('bad-url-1');
        expect(response.json()).toEqual({
          statusCode: status,
          error: expect.any(String),
          message: expect.any(String),
          correlationId: 'bad-url-1',
        });
        expect(response.body).not.toContain('connections');
      },
    );
  });

  it('runs over real HTTP too, as the bench calls it (httpSender, prepareFuzzTarget)', async () => {
    await sut.listen({ port: 0, host: '127.0.0.1' });
    // The wrong passwords fuzzed above have used up the account's login limit for browsers
    // that never logged in (README "Security"); this login comes from such a client.
    await database.query('DELETE FROM login_attempts');
    const overHttp = await prepareFuzzTarget(httpSender(await sut.getUrl()), {
      adminPassword: TEST_ADMIN_PASSWORD,
      serviceKey: SERVICE_KEY,
      consoleUrl: 'http://localhost:4200',
      drainLogs: () => output.newLines(),
    });
    expect(overHttp.connectionIds).toEqual(
      expect.arrayContaining(target.connectionIds),
    );

    const reports = await runHttpFuzz(overHttp, { runs: Math.ceil(RUNS / 10) });

    expect(
      reports
        .filter((report) => report.failed)
        .map((report) => report.counterexample),
    ).toEqual([]);
    expect(reports.map((report) => report.name)).toEqual([...FUZZ_PROPERTIES]);
    expect(watch.failures).toEqual([]);
  }, 120_000);

  it('still serves the admin and the jobs afterwards', async () => {
    const list = await sut.inject({
      method: 'GET',
      url: '/api/v1/connections',
      headers: { cookie: target.adminCookie },
    });
    const token = await sut.inject({
      method: 'GET',
      url: `/api/v1/connections/${target.connectionIds[0]}/access-token`,
      headers: { authorization: `Bearer ${SERVICE_KEY}` },
    });

    expect(list.statusCode).toBe(200);
    expect(token.statusCode).toBe(200);
    expect(
      (await sut.inject({ method: 'GET', url: '/health/ready' })).statusCode,
    ).toBe(200);
  });
});
