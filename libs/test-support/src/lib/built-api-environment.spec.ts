import {
  API_VARIABLES,
  builtApiEnvironment,
} from './built-api-environment.cjs';

const settings = {
  port: 43_210,
  cwd: '/tmp/api-a',
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/bench',
  sandbox: {
    url: 'http://127.0.0.1:45678',
    clientId: 'client',
    clientSecret: 'secret',
  },
  fernetKeys: 'key=',
  adminPassword: 'password',
  serviceKey: 'service',
  refreshCron: '0 0 0 1 1 *',
};

describe('builtApiEnvironment', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of Object.keys(process.env)) delete process.env[name];
    Object.assign(process.env, saved);
  });

  it("keeps none of the caller's API or libpq variables, only the settings", () => {
    for (const name of API_VARIABLES) process.env[name] = 'from the shell';
    process.env.PGPASSWORD = 'from the shell';
    process.env.PGSSLMODE = 'require';
    process.env.UNRELATED = 'kept';

    const env = builtApiEnvironment(settings);

    expect(env.UNRELATED).toBe('kept');
    expect(env.PGPASSWORD).toBeUndefined();
    expect(env.PGSSLMODE).toBeUndefined();
    const leaked = API_VARIABLES.filter(
      (name) => env[name] === 'from the shell',
    );
    expect(leaked).toEqual([]);
    expect(env).toMatchObject({
      NODE_ENV: 'production',
      PORT: '43210',
      HOST: '127.0.0.1',
      DATABASE_URL: settings.databaseUrl,
      DATA_DIR: '/tmp/api-a/.data',
      AMAZON_TOKEN_URL: 'http://127.0.0.1:45678/auth/o2/token',
      AMAZON_REDIRECT_URI: 'http://127.0.0.1:43210/api/v1/auth/amazon/callback',
      CONSOLE_URL: 'http://127.0.0.1:4200',
      LOG_LEVEL: 'warn',
    });
  });

  it('leaves DATABASE_URL unset without one (the embedded PostgreSQL) and sends the callback through a console origin', () => {
    process.env.DATABASE_URL = 'postgres://elsewhere/db';

    const env = builtApiEnvironment(
      {
        ...settings,
        databaseUrl: undefined,
        consoleUrl: 'http://localhost:4300',
        logLevel: 'info',
      },
      { REFRESH_WINDOW_SECONDS: '60' },
    );

    expect('DATABASE_URL' in env).toBe(false);
    expect(env).toMatchObject({
      AMAZON_REDIRECT_URI: 'http://localhost:4300/api/v1/auth/amazon/callback',
      CONSOLE_URL: 'http://localhost:4300',
      LOG_LEVEL: 'info',
      REFRESH_WINDOW_SECONDS: '60',
    });
  });
});
