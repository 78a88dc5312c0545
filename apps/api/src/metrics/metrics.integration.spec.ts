import { APP_CONFIG } from '../config/config.module';
import { Fernet, keyIdOf } from '@keeper/fernet';
import {
  Controller,
  DynamicModule,
  Get,
  Global,
  Module,
  Param,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  FastifyAdapter,
  NestFastifyApplication,
} from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { DataSource } from 'typeorm';
import { seedEncryptedRows } from '../../test/seed-secrets';
import { openTestDataSource } from '../../test/test-data-source';
import { createTestDatabase, TestDatabase } from '../../test/test-database';
import { startTestApp } from '../../test/test-app';
import { DatabaseUnavailableError } from '../common/domain-errors';
import { KeyRing } from '../crypto/key-ring';
import { KeyUsageService } from '../crypto/key-usage.service';
import { ConnectionsRepository } from '../connections/connections.repository';
import { Database } from '../database/database';
import { DatabaseStats } from './database-stats';
import { MetricsController } from './metrics.controller';
import { MetricsModule } from './metrics.module';
import { RefreshMetrics } from './refresh.metrics';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"(,|$)/y;

/** Prometheus text format 0.0.4, strictly: every line a comment or a sample, or the test fails. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE '))
      continue;
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new Error(`Not a sample line: ${line}`);
    const [, name, labelText = '', valueText] = match;
    const labels: Record<string, string> = {};
    LABEL_PAIR.lastIndex = 0;
    while (LABEL_PAIR.lastIndex < labelText.length) {
      const pair = LABEL_PAIR.exec(labelText);
      if (!pair) throw new Error(`Bad labels: ${line}`);
      labels[pair[1]] = pair[2];
    }
    const value =
      valueText === '+Inf'
        ? Infinity
        : valueText === '-Inf'
          ? -Infinity
          : Number(valueText);
    // prom-client writes NaN as `Nan`; Prometheus reads floats with Go's ParseFloat, which takes any case.
    if (Number.isNaN(value) && !/^nan$/i.test(valueText))
      throw new Error(`Bad value: ${line}`);
    samples.push({ name, labels, value });
  }
  return samples;
}

function valueOf(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return samples.find(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(
        ([key, value]) => sample.labels[key] === value,
      ),
  )?.value;
}

@Controller('connections')
class ProbeController {
  @Get(':id')
  one(@Param('id') id: string): { id: string } {
    return { id };
  }
}

/** What the API's Database, Crypto and Connections modules provide, with a switch to take the database away. */
function infrastructure(database: Database, keyRing: KeyRing): DynamicModule {
  @Global()
  @Module({})
  class TestInfrastructureModule {}
  return {
    module: TestInfrastructureModule,
    providers: [
      { provide: Database, useValue: database },
      { provide: KeyRing, useValue: keyRing },
      KeyUsageService,
      ConnectionsRepository,
      // /metrics without METRICS_TOKEN: public (the token's own tests start the whole API).
      { provide: APP_CONFIG, useValue: { metricsToken: undefined } },
    ],
    exports: [
      Database,
      KeyRing,
      KeyUsageService,
      ConnectionsRepository,
      APP_CONFIG,
    ],
  };
}

describe(MetricsController.name, () => {
  const configuredKey = Fernet.generateKey();
  const retiredKey = Fernet.generateKey();
  const keyRing = new KeyRing([configuredKey]);
  let database: TestDatabase;
  let dataSource: DataSource;
  let databaseAway = false;
  const provider = new (class extends Database {
    get dataSource(): DataSource {
      if (databaseAway)
        throw new DatabaseUnavailableError('stopped by the test');
      return dataSource;
    }
  })();
  let app: NestFastifyApplication;

  /** As `createHttpApp` builds the API: NestFactory.create, the prefix, then init. */
  async function startApp(): Promise<NestFastifyApplication> {
    @Module({
      imports: [infrastructure(provider, keyRing), MetricsModule],
      controllers: [ProbeController],
    })
    class MetricsTestAppModule {}
    const started = await NestFactory.create<NestFastifyApplication>(
      MetricsTestAppModule,
      new FastifyAdapter(),
      {
        logger: false,
      },
    );
    started.setGlobalPrefix('api/v1', { exclude: ['metrics'] });
    await started.init();
    await started.getHttpAdapter().getInstance().ready();
    return started;
  }

  async function scrape(
    target = app,
  ): Promise<{ samples: Sample[]; text: string }> {
    const response = await target.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    return { samples: parseExposition(response.body), text: response.body };
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    dataSource = await openTestDataSource(database);
    // Under the configured key: 4 connections and 2 consent states; under a key FERNET_KEYS no
    // longer holds: 1 connection and 1 consent state.
    await seedEncryptedRows(database, configuredKey, {
      connections: 4,
      oauthStates: 2,
      prefix: 'current',
    });
    await seedEncryptedRows(database, retiredKey, {
      connections: 1,
      oauthStates: 1,
      prefix: 'retired',
    });
    await database.query(`
      UPDATE connections SET status = 'active', access_token_expires_at = now() + interval '20 minutes' WHERE label = 'current-connection-0';
      UPDATE connections SET status = 'degraded', access_token_expires_at = now() + interval '10 minutes' WHERE label = 'current-connection-1';
      UPDATE connections SET status = 'needs_reauth', access_token_expires_at = now() + interval '1 minute' WHERE label = 'current-connection-2';
      UPDATE connections SET status = 'active', access_token_expires_at = NULL WHERE label = 'current-connection-3';
      UPDATE connections SET status = 'needs_reauth', access_token_expires_at = now() - interval '1 hour' WHERE label = 'retired-connection-0';
      INSERT INTO connections (label, region, status) VALUES ('erased', 'eu', 'disconnected');
    `);
    app = await startApp();
  });

  afterAll(async () => {
    await app?.close();
    await dataSource?.destroy();
    await database?.drop();
  });

  afterEach(() => {
    databaseAway = false;
  });

  it('answers at /metrics, outside the api/v1 prefix, in Prometheus text format with its content type', async () => {
    const response = await app.inject({ method: 'GET', url: '/metrics' });

    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe(
      'text/plain; version=0.0.4; charset=utf-8',
    );
    expect(response.headers['cache-control']).toBe('no-store');
    const samples = parseExposition(response.body);
    expect(
      valueOf(samples, 'atk_process_cpu_user_seconds_total'),
    ).toBeGreaterThanOrEqual(0);
    expect(valueOf(samples, 'atk_nodejs_heap_size_used_bytes')).toBeGreaterThan(
      0,
    );
    expect(valueOf(samples, 'atk_database_up')).toBe(1);
    expect(samples.every((sample) => sample.name.startsWith('atk_'))).toBe(
      true,
    );
    expect(
      (await app.inject({ method: 'GET', url: '/api/v1/metrics' })).statusCode,
    ).toBe(404);
  });

  it('counts connections by status, listing every status', async () => {
    const { samples } = await scrape();

    expect(
      samples
        .filter((sample) => sample.name === 'atk_connections')
        .map((sample) => [sample.labels.status, sample.value]),
    ).toEqual(
      expect.arrayContaining([
        ['active', 2],
        ['degraded', 1],
        ['needs_reauth', 2],
        ['disconnected', 1],
      ]),
    );
    expect(
      samples.filter((sample) => sample.name === 'atk_connections'),
    ).toHaveLength(4);
  });

  it('shows the seconds until the earliest access token of an active or degraded connection expires', async () => {
    const { samples } = await scrape();

    // The degraded connection's token (10 minutes); needs_reauth ones are not kept fresh.
    const seconds = valueOf(
      samples,
      'atk_access_token_earliest_expiry_seconds',
    );
    expect(seconds).toBeGreaterThan(590);
    expect(seconds).toBeLessThanOrEqual(600);
  });

  it('shows NaN for the earliest expiry when no live connection has a token', async () => {
    await database.query(
      `UPDATE connections SET status = 'needs_reauth' WHERE status IN ('active', 'degraded')`,
    );
    try {
      // The counts are read in the background: read them now rather than wait 15 s.
      await app.get(DatabaseStats).refresh();
      const { samples } = await scrape();
      expect(
        valueOf(samples, 'atk_access_token_earliest_expiry_seconds'),
      ).toBeNaN();
      expect(valueOf(samples, 'atk_connections', { status: 'active' })).toBe(0);
    } finally {
      await database.query(`
        UPDATE connections SET status = 'active' WHERE label IN ('current-connection-0', 'current-connection-3');
        UPDATE connections SET status = 'degraded' WHERE label = 'current-connection-1';
      `);
      await app.get(DatabaseStats).refresh();
    }
  });

  it('shows the counts of the last background read, not of the scrape, and how old they are', async () => {
    await app.get(DatabaseStats).refresh();
    await database.query(
      `INSERT INTO connections (label, region, status) VALUES ('added-after-the-read', 'eu', 'disconnected')`,
    );
    try {
      const before = (await scrape()).samples;
      expect(
        valueOf(before, 'atk_connections', { status: 'disconnected' }),
      ).toBe(1);
      const age = valueOf(before, 'atk_database_stats_age_seconds');
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(5);

      await app.get(DatabaseStats).refresh();
      const after = (await scrape()).samples;
      expect(
        valueOf(after, 'atk_connections', { status: 'disconnected' }),
      ).toBe(2);
    } finally {
      await database.query(
        `DELETE FROM connections WHERE label = 'added-after-the-read'`,
      );
      await app.get(DatabaseStats).refresh();
    }
  });

  it('counts stored rows per key id across tables, marking the ids FERNET_KEYS does not hold', async () => {
    const { samples, text } = await scrape();

    expect(
      valueOf(samples, 'atk_encrypted_rows', {
        key_id: keyIdOf(configuredKey),
      }),
    ).toBe(6);
    expect(
      valueOf(samples, 'atk_encrypted_rows', {
        key_id: keyIdOf(configuredKey),
        configured: 'true',
      }),
    ).toBe(6);
    expect(
      valueOf(samples, 'atk_encrypted_rows', {
        key_id: keyIdOf(retiredKey),
        configured: 'false',
      }),
    ).toBe(2);
    expect(
      samples.filter((sample) => sample.name === 'atk_encrypted_rows'),
    ).toHaveLength(2);
    expect(text).not.toContain(configuredKey);
    expect(text).not.toContain(retiredKey);
  });

  it('finds the stored key ids of every encrypted table without counting, and counts only the rows under missing ones', async () => {
    const keyUsage = app.get(KeyUsageService);

    expect(await keyUsage.storedKeyIds()).toEqual(
      [keyIdOf(configuredKey), keyIdOf(retiredKey)].sort(),
    );
    // The retired key's connection and consent state: one row in each table.
    expect(await keyUsage.missingKeys()).toEqual({
      missingKeyIds: [keyIdOf(retiredKey)],
      rowsUnderMissingKeys: 2,
    });
  });

  it('records HTTP requests by route pattern, never by URL', async () => {
    const matched = {
      method: 'GET',
      route: '/api/v1/connections/:id',
      status: '200',
    };
    const unmatched = { method: 'GET', route: 'unmatched', status: '404' };
    const before = (await scrape()).samples;

    await app.inject({
      method: 'GET',
      url: '/api/v1/connections/conn-42?code=SECRET',
    });
    await app.inject({ method: 'GET', url: '/api/v1/x?code=SECRET' });
    const { samples, text } = await scrape();

    const increase = (name: string, labels: Record<string, string>) =>
      (valueOf(samples, name, labels) ?? 0) -
      (valueOf(before, name, labels) ?? 0);
    expect(increase('atk_http_requests_total', matched)).toBe(1);
    expect(increase('atk_http_requests_total', unmatched)).toBe(1);
    expect(
      increase('atk_http_request_duration_seconds_count', {
        method: 'GET',
        route: matched.route,
      }),
    ).toBe(1);
    expect(text).not.toContain('SECRET');
    expect(text).not.toContain('conn-42');
    expect(text).not.toContain('/api/v1/x');
  });

  it('shows what the refresh code records', async () => {
    app.get(RefreshMetrics).recordAttempt('transient_failure', 1.2);
    app.get(RefreshMetrics).recordSchedulerTick(0.4, 3);

    const { samples } = await scrape();

    expect(
      valueOf(samples, 'atk_refresh_attempts_total', {
        outcome: 'transient_failure',
      }),
    ).toBe(1);
    expect(
      valueOf(samples, 'atk_refresh_attempts_total', { outcome: 'refreshed' }),
    ).toBe(0);
    expect(
      valueOf(samples, 'atk_refresh_duration_seconds_bucket', {
        outcome: 'transient_failure',
        le: '2.5',
      }),
    ).toBe(1);
    expect(valueOf(samples, 'atk_refresh_sweep_claimed_total')).toBe(3);
    expect(
      valueOf(samples, 'atk_refresh_scheduler_last_tick_timestamp_seconds'),
    ).toBeGreaterThan(1_700_000_000);
  });

  it('still answers while the database is away: atk_database_up 0, HTTP metrics kept, database gauges absent', async () => {
    databaseAway = true;
    await app.inject({ method: 'GET', url: '/api/v1/connections/while-away' });

    const { samples } = await scrape();

    expect(valueOf(samples, 'atk_database_up')).toBe(0);
    expect(
      valueOf(samples, 'atk_http_requests_total', {
        route: '/api/v1/connections/:id',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(samples.some((sample) => sample.name === 'atk_connections')).toBe(
      false,
    );
    expect(samples.some((sample) => sample.name === 'atk_encrypted_rows')).toBe(
      false,
    );

    databaseAway = false;
    const back = await scrape();
    expect(valueOf(back.samples, 'atk_database_up')).toBe(1);
    expect(valueOf(back.samples, 'atk_connections', { status: 'active' })).toBe(
      2,
    );
  });

  it('keeps the counts of each app to itself (apps built by Test.createTestingModule too)', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [infrastructure(provider, keyRing), MetricsModule],
      controllers: [ProbeController],
    }).compile();
    const other = moduleRef.createNestApplication<NestFastifyApplication>(
      new FastifyAdapter(),
      { logger: false },
    );
    await other.init();
    try {
      await other.inject({ method: 'GET', url: '/connections/only-here' });
      await other.inject({ method: 'GET', url: '/connections/only-here' });

      const mine = await scrape();
      const theirs = await scrape(other);

      expect(
        valueOf(theirs.samples, 'atk_http_requests_total', {
          route: '/connections/:id',
          status: '200',
        }),
      ).toBe(2);
      expect(
        valueOf(mine.samples, 'atk_http_requests_total', {
          route: '/connections/:id',
        }),
      ).toBeUndefined();
    } finally {
      await other.close();
    }
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  const token = 'metrics-token-canary-0123456789abcdef';
  let database: TestDatabase;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp(database, { METRICS_TOKEN: token });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it.each([
    ['no Authorization header', undefined],
    ['a wrong token', 'Bearer metrics-token-canary-0123456789abcdeX'],
    ['a prefix of the token', `Bearer ${token.slice(0, 10)}`],
    ['the token without the Bearer scheme', token],
    [
      'Basic credentials',
      `Basic ${Buffer.from(`x:${token}`).toString('base64')}`,
    ],
  ])(
    'answers 401 in the error shape to %s, naming no token',
    async (_, authorization) => {
      const response = await app.inject({
        method: 'GET',
        url: '/metrics',
        headers: authorization ? { authorization } : {},
      });

      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe(
        'Bearer realm="metrics"',
      );
      expect(response.json()).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: expect.stringContaining('METRICS_TOKEN'),
        correlationId: expect.any(String),
      });
      expect(response.body).not.toContain('canary');
      expect(response.body).not.toContain('atk_');
    },
  );

  it('answers the scrape that sends the token as a bearer token', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${token}` },
    });

    expect(response.statusCode).toBe(200);
    expect(
      parseExposition(response.body).some(
        (sample) => sample.name === 'atk_database_up',
      ),
    ).toBe(true);
  });

  it('stays public without METRICS_TOKEN (the default)', async () => {
    const open = await startTestApp(database);
    try {
      expect(
        (await open.inject({ method: 'GET', url: '/metrics' })).statusCode,
      ).toBe(200);
    } finally {
      await open.close();
    }
  });
});
