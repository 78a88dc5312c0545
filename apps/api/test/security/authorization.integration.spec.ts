import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { RunningSandbox, startLwaSandbox } from '@keeper/lwa-sandbox';
import {
  connectAccount,
  logIn,
  sandboxEnvironment,
  TEST_ADMIN_PASSWORD,
} from '../connect-flow';
import { createTestDatabase, TestDatabase } from '../test-database';
import { startTestApp } from '../test-app';

const SERVICE_KEY = 'svc-authz-key-0123456789abcdef';
const UNKNOWN_ID = '6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12';

type Access = 'public' | 'admin' | 'service';

/**
 * Who may call each route, as the README's HTTP API table says. Every route Fastify knows must be here (and
 * everything here must exist): a new route fails the suite until someone decides who may call it.
 * HEAD follows GET. `/api/docs/*` covers Swagger UI's files.
 */
const ACCESS: Record<string, Access> = {
  'GET /health': 'public',
  'GET /health/live': 'public',
  'GET /health/ready': 'public',
  'GET /metrics': 'public',
  'GET /api/docs': 'public',
  'GET /api/docs-json': 'public',
  'GET /api/docs-yaml': 'public',
  'GET /api/docs/*': 'public',
  'POST /api/v1/session': 'public',
  // Whether this browser is logged in ({authenticated, expiresAt}): the console's first call.
  'GET /api/v1/session': 'public',
  'GET /api/v1/auth/amazon/callback': 'public',
  'DELETE /api/v1/session': 'admin',
  'GET /api/v1/auth/amazon/start': 'admin',
  'GET /api/v1/connections': 'admin',
  'GET /api/v1/connections/:id': 'admin',
  'PATCH /api/v1/connections/:id': 'admin',
  'DELETE /api/v1/connections/:id': 'admin',
  'POST /api/v1/connections/:id/refresh': 'admin',
  'POST /api/v1/connections/:id/profiles/refresh': 'admin',
  // Imports refresh tokens (the `npm run import` of README "Import and export").
  'POST /api/v1/connections/import': 'admin',
  'GET /api/v1/audit-events': 'admin',
  'GET /api/v1/events': 'admin',
  'GET /api/v1/system': 'admin',
  // Keys for jobs: made, listed and revoked by the admin only (a job key cannot make another).
  'GET /api/v1/service-keys': 'admin',
  'POST /api/v1/service-keys': 'admin',
  'DELETE /api/v1/service-keys/:id': 'admin',
  // Connect links: made, listed and revoked by the admin; the owner's page, its "Continue to
  // Amazon" and the done page are public (the secret in the path is the credential).
  'GET /api/v1/connect-links': 'admin',
  'POST /api/v1/connect-links': 'admin',
  'DELETE /api/v1/connect-links/:id': 'admin',
  'GET /api/v1/connect/:secret': 'public',
  'POST /api/v1/connect/:secret': 'public',
  'GET /api/v1/connect/done': 'public',
  'GET /api/v1/connections/:id/access-token': 'service',
  // The Ads API proxy (Fastify's wildcard; documented as /ads/{path}).
  'GET /api/v1/connections/:id/ads/*': 'service',
  'POST /api/v1/connections/:id/ads/*': 'service',
  'PUT /api/v1/connections/:id/ads/*': 'service',
  'PATCH /api/v1/connections/:id/ads/*': 'service',
  'DELETE /api/v1/connections/:id/ads/*': 'service',
};

interface Route {
  method: string;
  path: string;
}

/**
 * Every route the Fastify instance serves, from `printRoutes()`: Nest's controllers, Swagger's
 * files, anything registered on Fastify directly. Each tree line is a path segment under its parent.
 */
function registeredRoutes(app: NestFastifyApplication): Route[] {
  const tree = app
    .getHttpAdapter()
    .getInstance()
    .printRoutes({ commonPrefix: false });
  const stack: string[] = [];
  const routes: Route[] = [];
  for (const line of tree.split('\n')) {
    const match =
      /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1].length / 4;
    stack.length = depth;
    const path = `${stack[depth - 1] ?? ''}${match[2]}`;
    stack[depth] = path;
    for (const method of match[3]?.split(', ') ?? [])
      routes.push({ method, path });
  }
  // find-my-way prints a wildcard under a parameter without the static part between them
  // (`/connections/:id/ads/*` as `:id` → `*`): ask the router which route it is.
  const instance = app.getHttpAdapter().getInstance();
  return routes.map((route) =>
    route.path.endsWith(':id*') &&
    instance.hasRoute({
      method: route.method as 'GET',
      url: route.path.replace(/\*$/, '/ads/*'),
    })
      ? { ...route, path: route.path.replace(/\*$/, '/ads/*') }
      : route,
  );
}

function accessKey({ method, path }: Route): string {
  return `${method === 'HEAD' ? 'GET' : method} ${path.startsWith('/api/docs/') ? '/api/docs/*' : path}`;
}

/** Queries that get a request past validation, so a pass means the guard let it through. */
const VALID_QUERY: Record<string, string> = {
  '/api/v1/auth/amazon/start': '?region=eu',
};

/** A concrete URL for a route pattern. */
function urlFor(path: string, id = UNKNOWN_ID): string {
  const concrete = path.endsWith('/ads/*')
    ? path.replace(/\*$/, 'v2/profiles')
    : path.replace(/\*$/, 'index.html');
  return `${concrete.replace(':id', id)}${VALID_QUERY[path] ?? ''}`;
}

/** The OpenAPI path of a route: `{id}` is `:id`, and the proxy's `{path}` its wildcard. */
const servedPath = (documented: string) =>
  documented.replace('/ads/{path}', '/ads/*').replace(/\{(\w+)\}/g, ':$1');

describe('authorization: every route, every kind of caller', () => {
  let database: TestDatabase;
  let sandbox: RunningSandbox;
  let sut: NestFastifyApplication;
  let admin: string;
  let connectionId: string;
  let routes: Route[];

  beforeAll(async () => {
    database = await createTestDatabase();
    sandbox = await startLwaSandbox();
    sut = await startTestApp(database, {
      ...sandboxEnvironment(sandbox),
      SERVICE_API_KEYS: SERVICE_KEY,
      REFRESH_CRON: '0 0 0 1 1 *',
    });
    admin = await logIn(sut);
    connectionId = await connectAccount(sut, admin, { account: 'Authz Co' });
    routes = registeredRoutes(sut);
  });

  afterAll(async () => {
    await sut?.close();
    await sandbox?.close();
    await database?.drop();
  });

  const send = (
    route: Route,
    headers: Record<string, string> = {},
    id?: string,
  ) =>
    sut.inject({
      method: route.method as 'GET',
      url: urlFor(route.path, id),
      headers,
      ...(route.method === 'PATCH' ? { payload: { label: 'Authz' } } : {}),
      ...(route.method === 'POST' && route.path === '/api/v1/service-keys'
        ? { payload: { name: 'Authz' } }
        : {}),
      ...(route.method === 'POST' && route.path === '/api/v1/connect-links'
        ? { payload: { region: 'na' } }
        : {}),
      ...(route.method === 'POST' && route.path === '/api/v1/session'
        ? { payload: { password: TEST_ADMIN_PASSWORD } }
        : {}),
      ...(route.method === 'POST' && route.path === '/api/v1/connections/import'
        ? {
            payload: {
              format: 'csv',
              content: 'refresh_token,region\nAtzr|IwEBIAuthz,na',
            },
          }
        : {}),
    });
  const routesWith = (access: Access) =>
    routes.filter((route) => ACCESS[accessKey(route)] === access);
  const describeRoute = (route: Route) => `${route.method} ${route.path}`;

  function expectRefused(
    response: Awaited<ReturnType<typeof send>>,
    route: Route,
    status: 401 | 403,
    why: string,
  ): void {
    const seen = `${describeRoute(route)} ${why}: ${response.statusCode} ${response.body.slice(0, 200)}`;
    expect(seen).toBe(
      `${describeRoute(route)} ${why}: ${status} ${response.body.slice(0, 200)}`,
    );
    if (route.method !== 'HEAD') {
      expect(response.json()).toEqual({
        statusCode: status,
        error: expect.any(String),
        message: expect.any(String),
        correlationId: response.headers['x-request-id'],
      });
    }
  }

  it('knows who may call every route the server has, and every route it knows exists', () => {
    const unclassified = routes
      .filter((route) => ACCESS[accessKey(route)] === undefined)
      .map(describeRoute);
    const known = new Set(routes.map(accessKey));
    const missing = Object.keys(ACCESS).filter((key) => !known.has(key));

    expect(routes.length).toBeGreaterThan(20);
    expect(unclassified).toEqual([]);
    expect(missing).toEqual([]);
  });

  it('lists the same API routes as the OpenAPI document', async () => {
    const document = (
      await sut.inject({ method: 'GET', url: '/api/docs-json' })
    ).json<{ paths: Record<string, Record<string, unknown>> }>();
    const documented = Object.entries(document.paths).flatMap(
      ([path, operations]) =>
        Object.keys(operations).map(
          (method) => `${method.toUpperCase()} ${servedPath(path)}`,
        ),
    );
    const served = Object.keys(ACCESS).filter(
      (key) => !key.includes('/api/docs'),
    );

    expect(documented.sort()).toEqual(served.sort());
  });

  it('declares both credentials in the OpenAPI document and puts on every operation the one its guard asks for', async () => {
    type Operation = { security?: Record<string, string[]>[] };
    const document = (
      await sut.inject({ method: 'GET', url: '/api/docs-json' })
    ).json<{
      paths: Record<string, Record<string, Operation>>;
      components: { securitySchemes?: Record<string, unknown> };
    }>();
    const expected: Record<Access, Record<string, string[]>[] | undefined> = {
      admin: [{ session: [] }],
      service: [{ serviceKey: [] }],
      public: undefined,
    };
    const declared = Object.entries(document.paths).flatMap(
      ([path, operations]) =>
        Object.entries(operations).map(([method, operation]) => {
          const key = `${method.toUpperCase()} ${servedPath(path)}`;
          return `${key}: ${JSON.stringify(operation.security?.length ? operation.security : undefined)}`;
        }),
    );
    const fromGuards = Object.entries(ACCESS)
      .filter(([key]) => !key.includes('/api/docs'))
      .map(([key, access]) => `${key}: ${JSON.stringify(expected[access])}`);

    expect(document.components.securitySchemes).toEqual({
      session: {
        type: 'apiKey',
        in: 'cookie',
        name: 'atk_session',
        description: expect.any(String),
      },
      serviceKey: {
        type: 'http',
        scheme: 'bearer',
        description: expect.any(String),
      },
    });
    expect(declared.sort()).toEqual(fromGuards.sort());
  });

  it("opens only health, metrics, docs, login, the login check, the OAuth callback and a connect link's pages to anyone", async () => {
    const open = routesWith('public');
    expect(
      open
        .map(accessKey)
        .every((key) =>
          /^(GET|POST) \/(health|metrics|api\/docs|api\/v1\/session$|api\/v1\/auth\/amazon\/callback$|api\/v1\/connect\/(done|:secret)$)/.test(
            key,
          ),
        ),
    ).toBe(true);
    for (const route of open) {
      const response = await send(route);
      expect(`${describeRoute(route)}: ${response.statusCode}`).not.toMatch(
        /: (401|403|5\d\d)$/,
      );
    }
  });

  it('refuses every admin route without a session, with a bad session, and with a service key (401)', async () => {
    const forged = `${admin.slice(0, -2)}${admin.endsWith('AA') ? 'BB' : 'AA'}`;
    const attempts: [string, Record<string, string>][] = [
      ['without a session', {}],
      ['with a forged session cookie', { cookie: forged }],
      ['with an unsigned session id', { cookie: admin.split('.')[0] }],
      ['with a service key', { authorization: `Bearer ${SERVICE_KEY}` }],
      [
        'with a service key as the cookie',
        { cookie: `atk_session=${SERVICE_KEY}` },
      ],
    ];
    const adminRoutes = routesWith('admin');
    expect(adminRoutes.length).toBeGreaterThanOrEqual(12);
    for (const route of adminRoutes) {
      for (const [why, headers] of attempts)
        expectRefused(await send(route, headers), route, 401, why);
    }
  });

  it('refuses the service route without a key, with a wrong key and with an admin session (401)', async () => {
    const attempts: [string, Record<string, string>][] = [
      ['without a key', {}],
      ['with an admin session', { cookie: admin }],
      [
        'with a wrong key',
        { authorization: 'Bearer svc-authz-key-0123456789abcdeX' },
      ],
      ['with the key and more', { authorization: `Bearer ${SERVICE_KEY}x` }],
      [
        'with a key prefix',
        { authorization: `Bearer ${SERVICE_KEY.slice(0, -1)}` },
      ],
      [
        'with the key as Basic credentials',
        {
          authorization: `Basic ${Buffer.from(`${SERVICE_KEY}:`).toString('base64')}`,
        },
      ],
      ['with the key and no scheme', { authorization: SERVICE_KEY }],
      ['with the key as a cookie', { cookie: `atk_session=${SERVICE_KEY}` }],
    ];
    const serviceRoutes = routesWith('service');
    expect(serviceRoutes.map(accessKey).sort()).toEqual([
      'DELETE /api/v1/connections/:id/ads/*',
      'GET /api/v1/connections/:id/access-token',
      'GET /api/v1/connections/:id/access-token',
      'GET /api/v1/connections/:id/ads/*',
      'GET /api/v1/connections/:id/ads/*',
      'PATCH /api/v1/connections/:id/ads/*',
      'POST /api/v1/connections/:id/ads/*',
      'PUT /api/v1/connections/:id/ads/*',
    ]);
    for (const route of serviceRoutes) {
      for (const [why, headers] of attempts)
        expectRefused(
          await send(route, headers, connectionId),
          route,
          401,
          why,
        );
      const inQuery = await sut.inject({
        method: route.method as 'GET',
        url: `${urlFor(route.path, connectionId)}?access_token=${SERVICE_KEY}&key=${SERVICE_KEY}`,
      });
      expectRefused(inQuery, route, 401, 'with the key in the query');
    }
  });

  it('refuses state-changing admin requests from another site (403), session or not', async () => {
    const changing = routesWith('admin').filter(
      (route) => !['GET', 'HEAD'].includes(route.method),
    );
    expect(changing.map(describeRoute).sort()).toEqual([
      'DELETE /api/v1/connect-links/:id',
      'DELETE /api/v1/connections/:id',
      'DELETE /api/v1/service-keys/:id',
      'DELETE /api/v1/session',
      'PATCH /api/v1/connections/:id',
      'POST /api/v1/connect-links',
      'POST /api/v1/connections/:id/profiles/refresh',
      'POST /api/v1/connections/:id/refresh',
      'POST /api/v1/connections/import',
      'POST /api/v1/service-keys',
    ]);
    const crossSite: [string, Record<string, string>][] = [
      ['with Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
      ['with Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }],
      ['from a foreign Origin', { origin: 'https://evil.example' }],
      [
        'from a look-alike Origin',
        { origin: 'http://localhost:4200.evil.example' },
      ],
      ['from an opaque Origin', { origin: 'null' }],
      [
        'cross-site despite a same-looking Origin',
        { 'sec-fetch-site': 'cross-site', origin: 'http://localhost:4200' },
      ],
    ];
    for (const route of changing) {
      for (const [why, headers] of crossSite) {
        expectRefused(
          await send(route, { cookie: admin, ...headers }, connectionId),
          route,
          403,
          why,
        );
      }
    }
    // Nothing changed: the connection is still there under its name, the session still works.
    const connection = await sut.inject({
      method: 'GET',
      url: `/api/v1/connections/${connectionId}`,
      headers: { cookie: admin },
    });
    expect(connection.json()).toMatchObject({
      status: 'active',
      label: expect.not.stringMatching(/^Authz$/),
    });
    const keys = await sut.inject({
      method: 'GET',
      url: '/api/v1/service-keys',
      headers: { cookie: admin },
    });
    expect(keys.json()).toEqual([]);
    const links = await sut.inject({
      method: 'GET',
      url: '/api/v1/connect-links',
      headers: { cookie: admin },
    });
    expect(links.json()).toEqual([]);
  });

  it('refuses an account owner\'s "Continue to Amazon" posted from another site (403), with no consent started', async () => {
    const made = await sut.inject({
      method: 'POST',
      url: '/api/v1/connect-links',
      headers: { cookie: admin, 'sec-fetch-site': 'same-origin' },
      payload: { region: 'na' },
    });
    const path = new URL(made.json<{ url: string }>().url).pathname;
    const route = { method: 'POST', path };
    for (const headers of [
      { 'sec-fetch-site': 'cross-site' },
      { origin: 'https://evil.example' },
    ]) {
      const response = await sut.inject({ method: 'POST', url: path, headers });
      expectRefused(response, route, 403, 'from another site');
    }
    const [{ count }] = await database.query<{ count: string }>(
      'SELECT count(*) FROM oauth_states WHERE link_id IS NOT NULL',
    );
    expect(count).toBe('0');
    const own = await sut.inject({
      method: 'POST',
      url: path,
      headers: { 'sec-fetch-site': 'same-origin' },
    });
    expect(own.statusCode).toBe(303);
    await sut.inject({
      method: 'DELETE',
      url: `/api/v1/connect-links/${made.json<{ id: string }>().id}`,
      headers: { cookie: admin, 'sec-fetch-site': 'same-origin' },
    });
  });

  it('lets the admin and the jobs through where they belong (the guard is not simply closed)', async () => {
    for (const route of routesWith('admin')) {
      // The event stream never ends (tested in events.integration.spec.ts); logging out is tested below.
      if (route.path === '/api/v1/events' || route.path === '/api/v1/session')
        continue;
      const response = await send(route, {
        cookie: admin,
        'sec-fetch-site': 'same-origin',
        origin: 'http://localhost:4200',
      });
      expect(`${describeRoute(route)}: ${response.statusCode}`).toMatch(
        /: (200|201|204|302|404)$/,
      );
    }
    const token = await sut.inject({
      method: 'GET',
      url: `/api/v1/connections/${connectionId}/access-token`,
      headers: { authorization: `Bearer ${SERVICE_KEY}` },
    });
    expect(token.statusCode).toBe(200);
    expect(token.json()).toEqual({
      accessToken: expect.stringMatching(/^Atza\|/),
      tokenType: 'bearer',
      expiresAt: expect.any(String),
    });

    const other = await logIn(sut);
    const logout = await sut.inject({
      method: 'DELETE',
      url: '/api/v1/session',
      headers: { cookie: other, 'sec-fetch-site': 'same-origin' },
    });
    expect(logout.statusCode).toBe(204);
    expect(
      (
        await sut.inject({
          method: 'GET',
          url: '/api/v1/connections',
          headers: { cookie: other },
        })
      ).statusCode,
    ).toBe(401);
  });

  it('refuses a cross-site login (login CSRF), and accepts one from the console', async () => {
    const login = (headers: Record<string, string>) =>
      sut.inject({
        method: 'POST',
        url: '/api/v1/session',
        headers,
        payload: { password: TEST_ADMIN_PASSWORD },
        remoteAddress: '10.99.0.1',
      });

    const crossSite = await login({ 'sec-fetch-site': 'cross-site' });
    const foreign = await login({ origin: 'https://evil.example' });
    const console = await login({
      'sec-fetch-site': 'same-origin',
      origin: 'http://localhost:4200',
    });

    expect([crossSite.statusCode, foreign.statusCode]).toEqual([403, 403]);
    expect(crossSite.headers['set-cookie']).toBeUndefined();
    expect(console.statusCode).toBe(201);
  });
});
