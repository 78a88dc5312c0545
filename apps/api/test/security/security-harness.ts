import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  FuzzRequest,
  FuzzResponse,
  SendRequest,
} from '@keeper/test-support';

/**
 * Everything the process writes to stdout and stderr while it runs. Start it before the app:
 * pino writes through `process.stdout` only when `write` was replaced before the logger was made
 * (otherwise it writes to file descriptor 1 directly, out of a test's reach).
 */
export interface CapturedOutput {
  text(): string;
  lines(): string[];
  /** Lines written since the previous call (cheap: only the new chunks are joined). */
  newLines(): string[];
  restore(): void;
}

export function captureOutput(): CapturedOutput {
  const chunks: string[] = [];
  const spies = [process.stdout, process.stderr].map((stream) =>
    jest
      .spyOn(stream, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        chunks.push(
          typeof chunk === 'string'
            ? chunk
            : Buffer.from(chunk).toString('utf8'),
        );
        return true;
      }),
  );
  let read = 0;
  return {
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.length > 0),
    newLines: () => {
      const fresh = chunks.slice(read);
      read = chunks.length;
      return fresh
        .join('')
        .split('\n')
        .filter((line) => line.length > 0);
    },
    restore: () => spies.forEach((spy) => spy.mockRestore()),
  };
}

/** The fuzzer's requests answered by `app.inject()`: the whole Fastify/Nest stack, no socket. */
export function injectSender(app: NestFastifyApplication): SendRequest {
  return async (request: FuzzRequest): Promise<FuzzResponse> => {
    const response = await app.inject({
      method: request.method as 'GET',
      url: request.url,
      headers: request.headers,
      payload: request.payload,
      remoteAddress: request.remoteAddress,
    });
    return {
      statusCode: response.statusCode,
      headers: response.headers,
      body: response.body,
    };
  };
}

/** Process-level failures while a block runs: unhandled rejections and uncaught exceptions. */
export class ProcessFailureWatch {
  readonly failures: string[] = [];
  private readonly onRejection = (reason: unknown) =>
    this.failures.push(`unhandledRejection: ${describe(reason)}`);
  private readonly onException = (error: unknown) =>
    this.failures.push(`uncaughtException: ${describe(error)}`);

  start(): this {
    process.on('unhandledRejection', this.onRejection);
    process.on('uncaughtException', this.onException);
    return this;
  }

  stop(): void {
    process.off('unhandledRejection', this.onRejection);
    process.off('uncaughtException', this.onException);
  }
}

function describe(value: unknown): string {
  return value instanceof Error
    ? `${value.name}: ${value.message}\n${value.stack ?? ''}`
    : String(value);
}

/** Collects the bodies of the signed alert webhooks the API posts. */
export interface WebhookSink {
  url: string;
  bodies: string[];
  close(): Promise<void>;
}

export async function startWebhookSink(): Promise<WebhookSink> {
  const bodies: string[] = [];
  const server: Server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      bodies.push(`${JSON.stringify(request.headers)}\n${body}`);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/alerts`,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Where `needle` occurs in `haystack`, with a little context each side (for failure messages). */
export function occurrences(
  haystack: string,
  needle: string,
  context = 60,
): string[] {
  const found: string[] = [];
  for (
    let index = haystack.indexOf(needle);
    index >= 0 && found.length < 5;
    index = haystack.indexOf(needle, index + 1)
  ) {
    found.push(
      haystack.slice(
        Math.max(0, index - context),
        index + needle.length + context,
      ),
    );
  }
  return found;
}
