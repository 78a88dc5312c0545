import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Region } from '@keeper/contracts';
import type { RunningSandbox } from '@keeper/lwa-sandbox';

export const TEST_ADMIN_PASSWORD = 'correct horse battery staple';

type InjectResponse = Awaited<ReturnType<NestFastifyApplication['inject']>>;

/** `name=value` pairs from a response's Set-Cookie headers. */
export function cookiesFrom(response: InjectResponse): Record<string, string> {
  const header = response.headers['set-cookie'];
  const lines = Array.isArray(header) ? header : header ? [header] : [];
  return Object.fromEntries(
    lines.map((line) => {
      const [pair] = line.split(';');
      const index = pair.indexOf('=');
      return [pair.slice(0, index), decodeURIComponent(pair.slice(index + 1))];
    }),
  );
}

/**
 * One browser's cookie jar, as far as the tests need it: each Set-Cookie replaces the cookie of
 * that name, and one that expires (`Max-Age=0`, an `Expires` in the past) removes it. Paths
 * are not told apart: the binding cookie has one path.
 */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(response: InjectResponse): void {
    const header = response.headers['set-cookie'];
    for (const line of Array.isArray(header)
      ? header
      : header
        ? [header]
        : []) {
      const [pair, ...attributes] = line.split(';').map((part) => part.trim());
      const index = pair.indexOf('=');
      const name = pair.slice(0, index);
      const expired = attributes.some((attribute) => {
        const [key, value = ''] = attribute.split('=');
        if (key.toLowerCase() === 'max-age') return Number(value) <= 0;
        return (
          key.toLowerCase() === 'expires' &&
          new Date(value).getTime() <= Date.now()
        );
      });
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, decodeURIComponent(pair.slice(index + 1)));
    }
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }

  /** The `Cookie` header this browser sends. */
  header(): string {
    return [...this.cookies]
      .map(([name, value]) => `${name}=${value}`)
      .join('; ');
  }
}

let loginAddress = 0;

/** Logs in from an address of its own, so tests never meet the login rate limit. */
export async function logIn(
  app: NestFastifyApplication,
  password = TEST_ADMIN_PASSWORD,
): Promise<string> {
  loginAddress += 1;
  const response = await app.inject({
    method: 'POST',
    url: '/api/v1/session',
    payload: { password },
    remoteAddress: `10.77.${Math.floor(loginAddress / 250)}.${(loginAddress % 250) + 1}`,
  });
  if (response.statusCode !== 201 && response.statusCode !== 200) {
    throw new Error(`login answered ${response.statusCode}: ${response.body}`);
  }
  return `atk_session=${cookiesFrom(response).atk_session}`;
}

export interface ConsentLeg {
  /** The callback URL Amazon (the sandbox) sent the browser to, with code and state. */
  callbackUrl: URL;
  /** The cookie the browser carries back to the callback. */
  bindingCookie: string;
  authorizationUrl: URL;
}

/** Admin clicks "connect": start, then the sandbox's consent page answered at once. */
export async function consent(
  app: NestFastifyApplication,
  sessionCookie: string,
  options: {
    region?: Region;
    account?: string;
    decision?: 'allow' | 'deny';
    jar?: CookieJar;
  } = {},
): Promise<ConsentLeg> {
  const start = await app.inject({
    method: 'GET',
    url: `/api/v1/auth/amazon/start?region=${options.region ?? 'na'}`,
    headers: { cookie: sessionCookie },
  });
  if (start.statusCode !== 302)
    throw new Error(`start answered ${start.statusCode}: ${start.body}`);
  options.jar?.take(start);
  const authorizationUrl = new URL(String(start.headers.location));
  const consentUrl = new URL(authorizationUrl);
  consentUrl.searchParams.set('sandbox_auto', options.decision ?? 'allow');
  if (options.account)
    consentUrl.searchParams.set('sandbox_account', options.account);
  const answer = await fetch(consentUrl, { redirect: 'manual' });
  const location = answer.headers.get('location');
  if (answer.status !== 302 || !location)
    throw new Error(
      `the sandbox answered ${answer.status}: ${await answer.text()}`,
    );
  return {
    callbackUrl: new URL(location),
    bindingCookie: `atk_oauth=${cookiesFrom(start).atk_oauth}`,
    authorizationUrl,
  };
}

/**
 * Amazon's redirect arriving at the API; answers the console URL it redirected to. With a jar,
 * the browser's cookies go along and the answer's Set-Cookie lands in it.
 */
export async function callback(
  app: NestFastifyApplication,
  leg: ConsentLeg,
  cookie: string | CookieJar = leg.bindingCookie,
): Promise<{ response: InjectResponse; target: URL }> {
  const header = typeof cookie === 'string' ? cookie : cookie.header();
  const response = await app.inject({
    method: 'GET',
    url: `${leg.callbackUrl.pathname}${leg.callbackUrl.search}`,
    headers: header ? { cookie: header } : {},
  });
  if (typeof cookie !== 'string') cookie.take(response);
  return { response, target: new URL(String(response.headers.location)) };
}

/** The whole flow; answers the new connection's id. */
export async function connectAccount(
  app: NestFastifyApplication,
  sessionCookie: string,
  options: { region?: Region; account?: string } = {},
): Promise<string> {
  const { target } = await callback(
    app,
    await consent(app, sessionCookie, options),
  );
  const connectionId = target.searchParams.get('connectionId');
  if (!connectionId) throw new Error(`the flow ended with ${target.search}`);
  return connectionId;
}

/** Environment pointing every region's Amazon URLs at a sandbox. */
export function sandboxEnvironment(
  sandbox: RunningSandbox,
): Record<string, string> {
  return {
    AMAZON_CLIENT_ID: sandbox.clientId,
    AMAZON_CLIENT_SECRET: sandbox.clientSecret,
    AMAZON_AUTHORIZE_URL: `${sandbox.url}/ap/oa`,
    AMAZON_TOKEN_URL: `${sandbox.url}/auth/o2/token`,
    AMAZON_ADS_API_URL: sandbox.url,
    ADMIN_PASSWORD: TEST_ADMIN_PASSWORD,
  };
}
