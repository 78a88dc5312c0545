import { createPkcePair } from '../lib/credentials';
import type { RunningSandbox } from '../lib/sandbox-options';

/** The API's default callback; any http(s) URL is registered unless the test says otherwise. */
export const REDIRECT_URI = 'http://localhost:3000/api/v1/auth/amazon/callback';
export const SCOPE = 'advertising::campaign_management';

/** The consent URL the API would send a browser to, with test overrides (undefined drops a parameter). */
export function authorizeUrl(
  sandbox: RunningSandbox,
  overrides: Record<string, string | undefined> = {},
  codeChallenge = createPkcePair().codeChallenge,
): string {
  const params: Record<string, string | undefined> = {
    client_id: sandbox.clientId,
    scope: SCOPE,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    state: 'state-123',
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    ...overrides,
  };
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) query.append(name, value);
  return `${sandbox.url}/ap/oa?${query.toString()}`;
}

/** The redirect a 302 points at, parsed. */
export function redirectTarget(response: Response): URL {
  const location = response.headers.get('location');
  if (location === null)
    throw new Error(`expected a redirect, got ${response.status}`);
  return new URL(location);
}

/** Walks the consent leg without a browser: `sandbox_auto=allow` answers with the code at once. */
export async function obtainCode(
  sandbox: RunningSandbox,
  overrides: Record<string, string | undefined> = {},
): Promise<{ code: string; codeVerifier: string; redirect: URL }> {
  const { codeVerifier, codeChallenge } = createPkcePair();
  const response = await fetch(
    authorizeUrl(
      sandbox,
      { sandbox_auto: 'allow', ...overrides },
      codeChallenge,
    ),
    { redirect: 'manual' },
  );
  const redirect = redirectTarget(response);
  const code = redirect.searchParams.get('code');
  if (code === null) throw new Error(`no code in ${redirect.toString()}`);
  return { code, codeVerifier, redirect };
}

/** `POST /auth/o2/token` with a form body; client credentials go in the body unless given. */
export function postToken(
  sandbox: RunningSandbox,
  params: Record<string, string>,
  init: RequestInit = {},
): Promise<Response> {
  return fetch(`${sandbox.url}/auth/o2/token`, {
    method: 'POST',
    body: new URLSearchParams({
      client_id: sandbox.clientId,
      client_secret: sandbox.clientSecret,
      ...params,
    }),
    ...init,
  });
}

export function exchangeCode(
  sandbox: RunningSandbox,
  code: string,
  codeVerifier: string,
  overrides: Record<string, string> = {},
): Promise<Response> {
  return postToken(sandbox, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: codeVerifier,
    ...overrides,
  });
}

export function refresh(
  sandbox: RunningSandbox,
  refreshToken: string,
): Promise<Response> {
  return postToken(sandbox, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
  });
}

export function getProfiles(
  sandbox: RunningSandbox,
  accessToken: string,
  path = '/v2/profiles',
  init: RequestInit = {},
): Promise<Response> {
  return fetch(`${sandbox.url}${path}`, {
    headers: {
      Authorization: `Bearer ${accessToken}`,
      'Amazon-Advertising-API-ClientId': sandbox.clientId,
    },
    ...init,
  });
}

/**
 * A request to an Ads API path with the headers Amazon wants: the token, the sandbox's client
 * id and, when given, a profile id as `Amazon-Advertising-API-Scope`. `init.headers` adds to or
 * overrides them (a header set to '' is left out).
 */
export function adsFetch(
  sandbox: RunningSandbox,
  accessToken: string,
  path: string,
  scope?: string | number,
  init: Omit<RequestInit, 'headers'> & {
    headers?: Record<string, string>;
  } = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    Authorization: `Bearer ${accessToken}`,
    'Amazon-Advertising-API-ClientId': sandbox.clientId,
    ...(scope === undefined
      ? {}
      : { 'Amazon-Advertising-API-Scope': String(scope) }),
    ...init.headers,
  };
  return fetch(`${sandbox.url}${path}`, {
    ...init,
    redirect: 'manual',
    headers: Object.fromEntries(
      Object.entries(headers).filter(([, value]) => value !== ''),
    ),
  });
}

/** `fetch` against the control API with a JSON body. */
export function control(
  sandbox: RunningSandbox,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${sandbox.url}/__sandbox/${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Polls until `probe` answers something, for server-side effects that land just after the client sees its result. */
export async function eventually<T>(
  probe: () => T | undefined,
  timeoutMs = 1000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
