import {
  DEFAULT_ACCOUNT,
  resolveAccount,
  SAMPLE_ACCOUNTS,
  SandboxAccount,
} from './accounts';
import { renderConsentPage, renderErrorPage } from './consent-page';
import type { Exchange, SandboxContext } from './exchange';
import { applyTransportFault, retryAfterHeaders } from './fault-responses';
import {
  BodyTooLargeError,
  isFormContentType,
  readBody,
  redirect,
  sendHtml,
  withQuery,
} from './http-io';
import type { OAuthErrorCode } from './oauth-error';
import type { AuthorizationRequest } from './sandbox-authority';
import type { AutoConsent } from './sandbox-settings';

const DENIED_DESCRIPTION = 'The user denied the request';

function showError(
  x: Exchange,
  status: number,
  outcome: string,
  heading: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  x.record.outcome = outcome;
  for (const [name, value] of Object.entries(headers))
    x.res.setHeader(name, value);
  sendHtml(x.res, status, renderErrorPage(heading, message));
}

function redirectWithError(
  x: Exchange,
  redirectUri: string,
  state: string | undefined,
  error: OAuthErrorCode,
  description: string,
): void {
  x.record.outcome = error;
  redirect(
    x.res,
    withQuery(redirectUri, { error, error_description: description, state }),
  );
}

function redirectWithCode(
  ctx: SandboxContext,
  x: Exchange,
  request: AuthorizationRequest,
  account: SandboxAccount,
): void {
  const code = ctx.authority.issueCode(request, account);
  x.record.outcome = 'allowed';
  x.record.accountId = account.id;
  // Amazon echoes the granted scope alongside the code.
  redirect(
    x.res,
    withQuery(request.redirectUri, {
      code,
      scope: request.scope,
      state: request.state,
    }),
  );
}

/** Answers an authorize fault that needs no valid request; 'unauthorized_client' when it needs one. */
async function answerFault(
  ctx: SandboxContext,
  x: Exchange,
): Promise<boolean | 'unauthorized_client'> {
  const fault = ctx.faults.take('authorize');
  if (!fault) return false;
  if (await applyTransportFault(ctx, x, fault)) return true;
  const outcome = `fault:${fault.kind}`;
  const retryAfter = retryAfterHeaders(fault, ctx.authority.now());
  switch (fault.kind) {
    case '429':
      showError(
        x,
        429,
        outcome,
        'Too many requests',
        'Please try again later.',
        retryAfter,
      );
      return true;
    case '500':
      showError(
        x,
        500,
        outcome,
        'Something went wrong',
        'Internal Server Error. Please try again.',
      );
      return true;
    case '503':
      showError(
        x,
        503,
        outcome,
        'Service unavailable',
        'Please try again later.',
        retryAfter,
      );
      return true;
    case 'invalid_client':
      showError(
        x,
        400,
        outcome,
        'We cannot complete this request',
        'The application (client_id) is not registered with Login with Amazon.',
      );
      return true;
    case 'unauthorized_client':
      return 'unauthorized_client';
    default:
      return false;
  }
}

function parseAutoConsent(
  params: URLSearchParams,
  fallback: AutoConsent,
): AutoConsent | undefined {
  const values = params.getAll('sandbox_auto');
  if (values.length === 0) return fallback;
  const value = values.length === 1 ? values[0] : undefined;
  return value === 'allow' || value === 'deny' || value === 'off'
    ? value
    : undefined;
}

/** `GET /ap/oa`: the consent page, or an immediate redirect when consent is automatic. */
export async function handleAuthorize(
  ctx: SandboxContext,
  x: Exchange,
): Promise<void> {
  x.record.endpoint = 'authorize';
  if (x.req.method !== 'GET') {
    showError(
      x,
      405,
      'method_not_allowed',
      'Method not allowed',
      'The consent page is opened with GET.',
      { Allow: 'GET' },
    );
    return;
  }
  const params = x.url.searchParams;
  x.record.clientId = params.get('client_id')?.slice(0, 100) ?? undefined;
  const fault = await answerFault(ctx, x);
  if (fault === true) return;

  const validation = ctx.authority.validateAuthorizationRequest(params);
  if (validation.outcome === 'error_page') {
    showError(
      x,
      400,
      validation.reason,
      'We cannot complete this request',
      validation.message,
    );
    return;
  }
  if (validation.outcome === 'redirect_error') {
    redirectWithError(
      x,
      validation.redirectUri,
      validation.state,
      validation.error,
      validation.description,
    );
    return;
  }
  const { request } = validation;
  if (fault === 'unauthorized_client') {
    redirectWithError(
      x,
      request.redirectUri,
      request.state,
      'unauthorized_client',
      'The client is not authorized for the requested operation',
    );
    return;
  }

  const auto = parseAutoConsent(params, ctx.authority.settings.autoConsent);
  if (auto === undefined) {
    showError(
      x,
      400,
      'invalid_request',
      'Bad sandbox parameter',
      'sandbox_auto must be allow, deny or off, once.',
    );
    return;
  }
  if (auto === 'deny') {
    redirectWithError(
      x,
      request.redirectUri,
      request.state,
      'access_denied',
      DENIED_DESCRIPTION,
    );
    return;
  }
  if (auto === 'allow') {
    const accountParam = params.getAll('sandbox_account');
    const account =
      accountParam.length === 0
        ? DEFAULT_ACCOUNT
        : accountParam.length === 1
          ? resolveAccount(accountParam[0] ?? '')
          : undefined;
    if (!account) {
      showError(
        x,
        400,
        'invalid_request',
        'Bad sandbox parameter',
        'sandbox_account must be a printable account name or id of up to 100 characters, once.',
      );
      return;
    }
    redirectWithCode(ctx, x, request, account);
    return;
  }
  const consentId = ctx.authority.openConsent(request);
  x.record.outcome = 'consent_page';
  sendHtml(
    x.res,
    200,
    renderConsentPage({
      consentId,
      request,
      applicationName: ctx.applicationName,
    }),
  );
}

/** `POST /ap/oa/decision`: the consent form's Allow or Deny. */
export async function handleConsentDecision(
  ctx: SandboxContext,
  x: Exchange,
): Promise<void> {
  x.record.endpoint = 'consent_decision';
  if (x.req.method !== 'POST') {
    showError(
      x,
      405,
      'method_not_allowed',
      'Method not allowed',
      'The consent form is sent with POST.',
      { Allow: 'POST' },
    );
    return;
  }
  let body: Buffer;
  try {
    body = await readBody(x.req, ctx.maxBodyBytes);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      showError(
        x,
        413,
        'invalid_request',
        'Request too large',
        'The form was larger than the sandbox accepts.',
        { Connection: 'close' },
      );
      return;
    }
    throw error;
  }
  if (!isFormContentType(x.req)) {
    showError(
      x,
      400,
      'invalid_request',
      'Bad request',
      'The consent form must be sent as application/x-www-form-urlencoded.',
    );
    return;
  }
  const form = new URLSearchParams(body.toString('utf8'));
  const consentId = form.get('consent_id') ?? '';
  const request = ctx.authority.findConsent(consentId);
  if (!request) {
    showError(
      x,
      400,
      'unknown_consent',
      'This sign-in has expired',
      'The consent request is unknown, already answered or older than 10 minutes. Start again from the application.',
    );
    return;
  }
  x.record.clientId = request.clientId;
  const decision = form.get('decision');
  if (decision === 'deny') {
    ctx.authority.closeConsent(consentId);
    redirectWithError(
      x,
      request.redirectUri,
      request.state,
      'access_denied',
      DENIED_DESCRIPTION,
    );
    return;
  }
  if (decision !== 'allow') {
    showError(
      x,
      400,
      'invalid_request',
      'Bad request',
      'Choose Allow or Deny.',
    );
    return;
  }
  const typed = form.get('account_other')?.trim() ?? '';
  const chosen = form.get('account') ?? '';
  const account =
    typed !== ''
      ? resolveAccount(typed)
      : (SAMPLE_ACCOUNTS.find((each) => each.id === chosen) ?? DEFAULT_ACCOUNT);
  if (!account) {
    x.record.outcome = 'invalid_account';
    sendHtml(
      x.res,
      400,
      renderConsentPage({
        consentId,
        request,
        applicationName: ctx.applicationName,
        problem:
          'That account name cannot be used: up to 100 printable characters, please.',
        typedAccount: typed.slice(0, 100),
      }),
    );
    return;
  }
  ctx.authority.closeConsent(consentId);
  redirectWithCode(ctx, x, request, account);
}
