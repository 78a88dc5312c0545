import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { IMPORT_LIMITS, type ImportSummaryDto } from '@keeper/contracts';
import { Fernet } from '@keeper/fernet';
import { RunningSandbox, startLwaSandbox } from '@keeper/lwa-sandbox';
import { logIn, sandboxEnvironment } from '../../test/connect-flow';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { startTestApp } from '../../test/test-app';

describe('POST /api/v1/connections/import', () => {
  let database: TestDatabase;
  let sandbox: RunningSandbox;
  let app: NestFastifyApplication;
  let admin: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    sandbox = await startLwaSandbox();
    app = await startTestApp(database, {
      ...sandboxEnvironment(sandbox),
      REFRESH_CRON: '0 0 0 1 1 *',
    });
    admin = await logIn(app);
  });

  afterAll(async () => {
    await app?.close();
    await sandbox?.close();
    await database?.drop();
  });

  const post = (
    payload: unknown,
    headers: Record<string, string> = { cookie: admin },
  ) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/connections/import',
      headers: { 'content-type': 'application/json', ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });

  it('imports as `npm run import` does and answers the summary, audited as the admin', async () => {
    const good = sandbox.issueTokens('Endpoint account');
    const revoked = sandbox.issueTokens('Endpoint revoked');
    sandbox.revokeRefreshToken(revoked.refresh_token);
    const response = await post({
      format: 'csv',
      content: `refresh_token,region,label\n${good.refresh_token},na,Over HTTP\n${revoked.refresh_token},na,\n`,
    });

    expect(response.statusCode).toBe(200);
    expect(response.json<ImportSummaryDto>()).toEqual({
      lines: 2,
      imported: 1,
      skipped: 0,
      failed: 1,
      failures: [{ line: 3, reason: expect.stringMatching(/invalid_grant/) }],
      skippedLines: [],
    });
    expect(response.body).not.toContain(good.refresh_token.slice(0, 12));
    const [event] = await database.query<{ actor: string }>(
      "SELECT actor FROM audit_events WHERE type = 'imported'",
    );
    expect(event.actor).toBe('admin');
    const list = await app.inject({
      method: 'GET',
      url: '/api/v1/connections',
      headers: { cookie: admin },
    });
    expect(list.json()).toMatchObject({
      items: [{ label: 'Over HTTP', status: 'active', region: 'na' }],
    });

    const again = await post({
      format: 'json',
      content: JSON.stringify([
        { refreshToken: good.refresh_token, region: 'na' },
      ]),
    });
    expect(again.json()).toMatchObject({ imported: 0, skipped: 1 });
  });

  it('takes Fernet rows with fromKey, never echoing the key', async () => {
    const key = Fernet.generateKey();
    const tokens = sandbox.issueTokens('Endpoint legacy');
    const response = await post({
      format: 'json',
      fromKey: key,
      content: JSON.stringify([
        {
          refreshToken: new Fernet(key).encrypt(tokens.refresh_token),
          region: 'fe',
        },
      ]),
    });
    expect(response.json()).toMatchObject({ imported: 1, failed: 0 });
    expect(response.body).not.toContain(key);

    const wrongKey = Fernet.generateKey().slice(0, 40);
    const refused = await post({
      format: 'csv',
      fromKey: wrongKey,
      content: 'refresh_token,region\nx,na',
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().message).toMatch(
      /^The fromKey is not a valid Fernet key/,
    );
    expect(refused.body).not.toContain(wrongKey);
  });

  it.each([
    ['an unknown format', { format: 'xml', content: 'x' }],
    ['no content', { format: 'csv' }],
    ['an unknown field', { format: 'csv', content: 'x', extra: 1 }],
    ['a bad header', { format: 'csv', content: 'token,region\nx,na' }],
    ['JSON content that is not JSON', { format: 'json', content: '[{' }],
  ])('refuses %s (400)', async (_, payload) => {
    const response = await post(payload);
    expect(response.statusCode).toBe(400);
  });

  it('refuses a body over its limit with 413, and a deeply nested one with 400', async () => {
    const huge = await post({
      format: 'csv',
      content: 'x'.repeat(IMPORT_LIMITS.maxBodyBytes),
    });
    expect(huge.statusCode).toBe(413);
    const nested = await post(
      `{"format":"json","content":"[]","x":${'['.repeat(100)}${']'.repeat(100)}}`,
    );
    expect(nested.statusCode).toBe(400);
    // Other routes keep the API's 64 KiB.
    const rename = await app.inject({
      method: 'PATCH',
      url: '/api/v1/connections/00000000-0000-4000-8000-000000000000',
      headers: { cookie: admin, 'content-type': 'application/json' },
      payload: JSON.stringify({ label: 'x'.repeat(70_000) }),
    });
    expect(rename.statusCode).toBe(413);
  });

  it('takes a body over 64 KiB (a file of many lines) below its limit', async () => {
    const lines = Array.from(
      { length: 2_000 },
      (_, index) => `Atzr|IwEBInotvalid${index}${'x'.repeat(40)},mars`,
    );
    const response = await post({
      format: 'csv',
      content: `refresh_token,region\n${lines.join('\n')}`,
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ lines: 2000, failed: 2000 });
  });

  it('refuses without a session (401) and from another site (403)', async () => {
    const payload = { format: 'csv', content: 'refresh_token,region\nx,na' };
    expect((await post(payload, {})).statusCode).toBe(401);
    expect(
      (await post(payload, { cookie: admin, 'sec-fetch-site': 'cross-site' }))
        .statusCode,
    ).toBe(403);
  });
});
