import { Agent, request as httpRequest } from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface HttpCall {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  agent?: Agent;
  timeoutMs?: number;
}

/** A plain node:http call (no redirects followed), with a whole-request timeout. */
export function http(
  url: string | URL,
  call: HttpCall = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const target = typeof url === 'string' ? new URL(url) : url;
    const headers: Record<string, string> = { ...call.headers };
    if (call.body !== undefined)
      headers['content-length'] = String(Buffer.byteLength(call.body));
    const req = httpRequest(
      target,
      { method: call.method ?? 'GET', headers, agent: call.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    const timeoutMs = call.timeoutMs ?? 30_000;
    req.setTimeout(timeoutMs, () =>
      req.destroy(
        new Error(`no answer within ${timeoutMs} ms from ${target.pathname}`),
      ),
    );
    req.on('error', reject);
    req.end(call.body);
  });
}

/** `name → value` of the Set-Cookie headers. */
export function setCookies(answer: HttpAnswer): Record<string, string> {
  const header = answer.headers['set-cookie'];
  const lines = Array.isArray(header) ? header : header ? [header] : [];
  return Object.fromEntries(
    lines.map((line) => {
      const [pair] = line.split(';');
      const index = pair.indexOf('=');
      return [pair.slice(0, index).trim(), pair.slice(index + 1).trim()];
    }),
  );
}

export function header(answer: HttpAnswer, name: string): string | undefined {
  const value = answer.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
