import type { ApiProcess } from './api-process';
import { http, setCookies } from './http-client';

/** Logs the admin in once; answers the `Cookie` header value for later requests. */
export async function logIn(
  api: ApiProcess,
  password: string,
): Promise<string> {
  const answer = await http(`${api.url}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ password }),
  });
  const value = setCookies(answer).atk_session;
  if ((answer.status !== 200 && answer.status !== 201) || !value) {
    throw new Error(
      `login answered ${answer.status}: ${answer.body.slice(0, 300)}`,
    );
  }
  return `atk_session=${value}`;
}
