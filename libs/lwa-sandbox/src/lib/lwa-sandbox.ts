import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { handleAuthorize, handleConsentDecision } from './authorize.routes';
import { CONTROL_PREFIX, handleControl } from './control.routes';
import { Exchange, PendingWork, SandboxContext } from './exchange';
import { FaultQueue } from './fault-queue';
import { ClientGoneError, sendJson } from './http-io';
import { handleProfiles, isProfilesPath } from './profiles.routes';
import {
  handleAds,
  handleDownload,
  isAdsPath,
  isDownloadPath,
} from './ads.routes';
import { ReportStore } from './report-store';
import { RequestLog } from './request-log';
import { SandboxAuthority } from './sandbox-authority';
import { systemClock } from './sandbox-clock';
import { createSandboxControl } from './sandbox-control';
import { SandboxInputError } from './sandbox-input.error';
import type { LwaSandboxOptions, RunningSandbox } from './sandbox-options';
import { parseSettingsPatch, SandboxSettings } from './sandbox-settings';
import { handleToken } from './token.routes';

export const DEFAULT_CLIENT_ID = 'amzn1.application-oa2-client.sandbox';
export const DEFAULT_CLIENT_SECRET = 'sandbox-client-secret';
const PRUNE_INTERVAL_MS = 30_000;

function validatedOptions(options: LwaSandboxOptions) {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new SandboxInputError('port must be a whole number from 0 to 65535');
  const clientId = options.clientId ?? DEFAULT_CLIENT_ID;
  const clientSecret = options.clientSecret ?? DEFAULT_CLIENT_SECRET;
  if (clientId === '' || clientSecret === '')
    throw new SandboxInputError('clientId and clientSecret must not be empty');
  const redirectUris = options.redirectUris ?? 'any';
  if (redirectUris !== 'any') {
    for (const uri of redirectUris) {
      if (!URL.canParse(uri) || uri.includes('#'))
        throw new SandboxInputError(
          `redirect URI "${uri}" is not an absolute URL without a fragment`,
        );
    }
  }
  const secretMarker = options.secretMarker ?? '';
  if (!/^[A-Za-z0-9]{0,32}$/.test(secretMarker))
    throw new SandboxInputError(
      'secretMarker must be at most 32 letters or digits',
    );
  const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024;
  const requestLogLimit = options.requestLogLimit ?? 10_000;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1024)
    throw new SandboxInputError(
      'maxBodyBytes must be a whole number of at least 1024',
    );
  if (!Number.isInteger(requestLogLimit) || requestLogLimit < 1)
    throw new SandboxInputError(
      'requestLogLimit must be a whole number of at least 1',
    );
  const settings: SandboxSettings = {
    accessTokenLifetimeSeconds: 3600,
    rotateRefreshTokens: false,
    autoConsent: 'off',
    authorizationCodeLifetimeSeconds: 300,
    reportDelaySeconds: 0,
    reportBytes: 4096,
    tokenDelayMs: 0,
    ...parseSettingsPatch(
      Object.fromEntries(
        Object.entries({
          accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds,
          rotateRefreshTokens: options.rotateRefreshTokens,
          autoConsent: options.autoConsent,
          authorizationCodeLifetimeSeconds:
            options.authorizationCodeLifetimeSeconds,
          reportDelaySeconds: options.reportDelaySeconds,
          reportBytes: options.reportBytes,
          tokenDelayMs: options.tokenDelayMs,
        }).filter(([, value]) => value !== undefined),
      ),
    ),
  };
  return {
    port,
    host: options.host ?? '127.0.0.1',
    clientId,
    clientSecret,
    redirectUris,
    secretMarker,
    maxBodyBytes,
    requestLogLimit,
    settings,
    applicationName: options.applicationName ?? 'Ads Token Keeper',
  };
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

async function route(ctx: SandboxContext, x: Exchange): Promise<void> {
  const path = x.url.pathname;
  if (path === '/ap/oa') return handleAuthorize(ctx, x);
  if (path === '/ap/oa/decision') return handleConsentDecision(ctx, x);
  if (path === '/auth/o2/token') return handleToken(ctx, x);
  if (isProfilesPath(path)) return handleProfiles(ctx, x);
  if (isAdsPath(path)) return handleAds(ctx, x);
  if (isDownloadPath(path)) return handleDownload(ctx, x);
  if (path.startsWith(CONTROL_PREFIX)) return handleControl(ctx, x);
  x.record.endpoint = 'not_found';
  x.record.outcome = 'not_found';
  sendJson(x.res, 404, {
    error: 'not_found',
    message: `No route for ${x.req.method ?? ''} ${path}`.slice(0, 300),
  });
}

/**
 * Starts the Login with Amazon sandbox: the consent page, the token endpoint, a stand-in for
 * the Ads API (`/v2/profiles`, `/dsp/advertisers`, reports and their presigned download, an
 * echo), and the `/__sandbox/` control API, on one port for every region.
 * The in-process control operations on the result are the same as the control API's.
 */
export async function startLwaSandbox(
  options: LwaSandboxOptions = {},
): Promise<RunningSandbox> {
  const config = validatedOptions(options);
  const logger = options.logger;
  const authority = new SandboxAuthority(
    {
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      redirectUris: config.redirectUris,
      clock: options.clock ?? systemClock,
      secretMarker: config.secretMarker,
    },
    { ...config.settings },
  );
  const faults = new FaultQueue();
  const log = new RequestLog(config.requestLogLimit);
  const reports = new ReportStore();
  const control = createSandboxControl({
    authority,
    faults,
    log,
    reports,
    clientId: config.clientId,
    initialSettings: config.settings,
  });
  const pending = new PendingWork();
  const ctx: SandboxContext = {
    authority,
    faults,
    control,
    pending,
    logger,
    clientId: config.clientId,
    applicationName: config.applicationName,
    maxBodyBytes: config.maxBodyBytes,
    reports,
    ownUrl: '',
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const startedAt = performance.now();
    const receivedAt = authority.now();
    let url: URL;
    try {
      const target = req.url ?? '/';
      // Prefixing keeps "//x" a path instead of a host.
      url = new URL(
        target.startsWith('/') ? `http://sandbox.invalid${target}` : target,
        'http://sandbox.invalid',
      );
    } catch {
      sendJson(res, 400, {
        error: 'invalid_request',
        message: 'unparseable request target',
      });
      return;
    }
    const x: Exchange = { req, res, url, record: {} };
    if (!url.pathname.startsWith(CONTROL_PREFIX)) {
      let logged = false;
      const tokenRequestEnded =
        url.pathname === '/auth/o2/token'
          ? log.tokenRequestStarted()
          : undefined;
      const append = (answered: boolean): void => {
        tokenRequestEnded?.();
        if (logged) return;
        logged = true;
        log.append({
          receivedAt: new Date(receivedAt).toISOString(),
          method: (req.method ?? '').slice(0, 16),
          path: url.pathname.slice(0, 200),
          endpoint: x.record.endpoint ?? 'not_found',
          grantType: x.record.grantType,
          clientId: x.record.clientId,
          accountId: x.record.accountId,
          credential: x.record.credential,
          authorizationPresent: req.headers.authorization !== undefined,
          scope: x.record.scope,
          status: answered ? res.statusCode : 0,
          outcome: x.record.outcome ?? (answered ? 'ok' : 'no_answer'),
          fault: x.record.fault,
          durationMs: Math.round((performance.now() - startedAt) * 100) / 100,
        });
      };
      // 'prefinish' fires inside res.end(), before the client can read a byte: a test that
      // reads the log right after its response arrives always finds the entry.
      res.once('prefinish', () => append(true));
      res.once('close', () => append(false));
    }
    route(ctx, x).catch((error: unknown) => {
      if (error instanceof ClientGoneError) return;
      logger?.error(
        `lwa-sandbox: ${req.method ?? ''} ${url.pathname} failed`,
        error,
      );
      x.record.outcome = 'server_error';
      if (!res.headersSent)
        sendJson(res, 500, {
          error: 'server_error',
          error_description: 'The sandbox failed unexpectedly',
        });
      else res.destroy();
    });
  };

  const server = createServer(
    { keepAliveTimeout: 5_000, maxHeaderSize: 16 * 1024 },
    onRequest,
  );
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : '400 Bad Request';
    const body =
      '{"error":"invalid_request","error_description":"Malformed HTTP request"}';
    socket.end(
      `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) =>
    logger?.error('lwa-sandbox: server error', error),
  );
  const pruneTimer = setInterval(() => authority.prune(), PRUNE_INTERVAL_MS);
  pruneTimer.unref();

  const port = (server.address() as AddressInfo).port;
  ctx.ownUrl = `http://${urlHost(config.host)}:${port}`;
  let closing: Promise<void> | undefined;
  return {
    ...control,
    url: ctx.ownUrl,
    port,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(pruneTimer);
        pending.closeAll();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
