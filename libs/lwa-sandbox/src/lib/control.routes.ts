import type { Exchange, SandboxContext } from './exchange';
import {
  FAULT_ENDPOINTS,
  FaultEndpoint,
  parseFaultSpec,
  QueuedFault,
} from './fault-queue';
import { BodyTooLargeError, readBody, sendJson } from './http-io';
import type { SandboxEndpoint } from './request-log';
import { SandboxInputError } from './sandbox-input.error';
import type { SandboxSettings } from './sandbox-settings';

/** Control API path prefix. */
export const CONTROL_PREFIX = '/__sandbox/';

const LOG_ENDPOINTS: readonly SandboxEndpoint[] = [
  'authorize',
  'consent_decision',
  'token',
  'profiles',
  'ads',
  'download',
  'not_found',
];

type ControlHandler = (
  ctx: SandboxContext,
  x: Exchange,
) => Promise<void> | void;

async function readJson(ctx: SandboxContext, x: Exchange): Promise<unknown> {
  const body = await readBody(x.req, ctx.maxBodyBytes);
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new SandboxInputError('the body must be JSON');
  }
}

function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SandboxInputError('the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function optionalString(
  body: Record<string, unknown>,
  name: string,
): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new SandboxInputError(`${name} must be a string`);
  return value;
}

function faultEndpointQuery(x: Exchange): FaultEndpoint | undefined {
  const value = x.url.searchParams.get('endpoint');
  if (value === null) return undefined;
  const endpoint = FAULT_ENDPOINTS.find((each) => each === value);
  if (!endpoint)
    throw new SandboxInputError(
      `endpoint must be one of ${FAULT_ENDPOINTS.join(', ')}`,
    );
  return endpoint;
}

const ROUTES: Readonly<
  Record<string, Readonly<Record<string, ControlHandler>>>
> = {
  health: {
    GET: (ctx, x) =>
      sendJson(x.res, 200, {
        status: 'ok',
        now: ctx.control.now().toISOString(),
        counts: ctx.control.counts(),
      }),
  },
  settings: {
    GET: (ctx, x) => sendJson(x.res, 200, ctx.control.settings()),
    PATCH: async (ctx, x) => {
      const patch = asObject(
        await readJson(ctx, x),
      ) as Partial<SandboxSettings>;
      sendJson(x.res, 200, ctx.control.updateSettings(patch));
    },
  },
  faults: {
    GET: (ctx, x) => sendJson(x.res, 200, { faults: ctx.control.faults() }),
    POST: async (ctx, x) => {
      const body = await readJson(ctx, x);
      const specs = Array.isArray(body) ? body : [body];
      if (specs.length === 0 || specs.length > 1000)
        throw new SandboxInputError('send one fault or an array of 1 to 1000');
      // Validate all before queueing any, so a bad element leaves the queues as they were.
      const parsed = specs.map((spec: unknown, index) => {
        try {
          return parseFaultSpec(spec);
        } catch (error) {
          if (error instanceof SandboxInputError && specs.length > 1)
            throw new SandboxInputError(`fault ${index}: ${error.message}`);
          throw error;
        }
      });
      const queued: QueuedFault[] = parsed.map((spec) =>
        ctx.control.queueFault(spec),
      );
      sendJson(x.res, 201, { faults: queued });
    },
    DELETE: (ctx, x) =>
      sendJson(x.res, 200, {
        cleared: ctx.control.clearFaults(faultEndpointQuery(x)),
      }),
  },
  revocations: {
    POST: async (ctx, x) => {
      const body = asObject(await readJson(ctx, x));
      const refreshToken = optionalString(body, 'refreshToken');
      const accessToken = optionalString(body, 'accessToken');
      if ((refreshToken === undefined) === (accessToken === undefined)) {
        throw new SandboxInputError(
          'send exactly one of refreshToken or accessToken',
        );
      }
      const revoked =
        refreshToken !== undefined
          ? ctx.control.revokeRefreshToken(refreshToken)
          : ctx.control.revokeAccessToken(accessToken ?? '');
      if (revoked) sendJson(x.res, 200, { revoked: true });
      else
        sendJson(x.res, 404, {
          error: 'not_found',
          message: 'no live token matches',
        });
    },
  },
  tokens: {
    POST: async (ctx, x) => {
      const body = asObject(await readJson(ctx, x));
      sendJson(
        x.res,
        201,
        ctx.control.issueTokens(optionalString(body, 'account')),
        { 'Cache-Control': 'no-store' },
      );
    },
  },
  requests: {
    GET: (ctx, x) => {
      const endpointValue = x.url.searchParams.get('endpoint');
      const endpoint =
        endpointValue === null
          ? undefined
          : LOG_ENDPOINTS.find((each) => each === endpointValue);
      if (endpointValue !== null && endpoint === undefined) {
        throw new SandboxInputError(
          `endpoint must be one of ${LOG_ENDPOINTS.join(', ')}`,
        );
      }
      const limitValue = x.url.searchParams.get('limit');
      const limit = limitValue === null ? undefined : Number(limitValue);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 0))
        throw new SandboxInputError('limit must be a whole number');
      sendJson(x.res, 200, {
        requests: ctx.control.requests({ endpoint, limit }),
      });
    },
    DELETE: (ctx, x) => {
      ctx.control.clearRequests();
      sendJson(x.res, 200, { cleared: true });
    },
  },
  clock: {
    GET: (ctx, x) =>
      sendJson(x.res, 200, { now: ctx.control.now().toISOString() }),
    POST: async (ctx, x) => {
      const body = asObject(await readJson(ctx, x));
      ctx.control.advanceTime(body['advanceSeconds'] as number);
      sendJson(x.res, 200, { now: ctx.control.now().toISOString() });
    },
  },
  accounts: {
    GET: (ctx, x) => sendJson(x.res, 200, { accounts: ctx.control.accounts() }),
  },
  reset: {
    POST: (ctx, x) => {
      ctx.control.reset();
      sendJson(x.res, 200, { reset: true });
    },
  },
};

/** `/__sandbox/*`: JSON control API for tests and demos; not recorded in the request log. */
export async function handleControl(
  ctx: SandboxContext,
  x: Exchange,
): Promise<void> {
  const name = x.url.pathname.slice(CONTROL_PREFIX.length);
  const route = Object.prototype.hasOwnProperty.call(ROUTES, name)
    ? ROUTES[name]
    : undefined;
  if (!route) {
    sendJson(x.res, 404, {
      error: 'not_found',
      message: `no control operation ${x.url.pathname}`,
    });
    return;
  }
  const handler = route[x.req.method ?? ''];
  if (!handler) {
    sendJson(
      x.res,
      405,
      {
        error: 'method_not_allowed',
        message: `use ${Object.keys(route).join(' or ')}`,
      },
      { Allow: Object.keys(route).join(', ') },
    );
    return;
  }
  try {
    await handler(ctx, x);
  } catch (error) {
    if (error instanceof SandboxInputError) {
      sendJson(x.res, 400, {
        error: 'invalid_request',
        message: error.message,
      });
      return;
    }
    if (error instanceof BodyTooLargeError) {
      sendJson(
        x.res,
        413,
        {
          error: 'payload_too_large',
          message: `the body is larger than ${ctx.maxBodyBytes} bytes`,
        },
        { Connection: 'close' },
      );
      return;
    }
    throw error;
  }
}
