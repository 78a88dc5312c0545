import { SAMPLE_ACCOUNTS } from './accounts';
import { ADS_SCOPE, AuthorizationRequest } from './sandbox-authority';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const SCOPE_TEXT: Readonly<Record<string, string>> = {
  [ADS_SCOPE]: 'Manage your Amazon Advertising campaigns, budgets and reports',
  profile: 'Your name and e-mail address',
  'profile:user_id': 'Your Amazon user id',
  postal_code: 'Your postal code',
};

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#0f1111;background:#f3f3f3}
main{max-width:34rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;border:1px solid #d5d9d9;border-radius:8px}
h1{font-size:1.4rem;margin:0 0 1rem}
.banner{margin:0 0 1rem;padding:.5rem .75rem;background:#fff8e5;border-left:4px solid #c45500;font-size:.9rem}
.error{background:#fdecea;border-left-color:#b12704}
dl{margin:0 0 1rem}dt{font-weight:600}dd{margin:0 0 .5rem;word-break:break-all}
code{font:.85rem ui-monospace,Menlo,Consolas,monospace}
fieldset{border:1px solid #d5d9d9;border-radius:6px;margin:0 0 1rem;padding:.5rem 1rem 1rem}
legend{font-weight:600;padding:0 .25rem}
.option{display:block;padding:.25rem 0}
label[for]{display:block;margin-top:.75rem;font-weight:600}
input[type=text]{width:100%;padding:.5rem;border:1px solid #888c8c;border-radius:4px;font:inherit}
.hint{font-size:.85rem;color:#565959;margin:.25rem 0 0}
.actions{display:flex;gap:1rem;margin-top:1.25rem}
button{flex:1;padding:.6rem 1rem;font:inherit;font-weight:600;border-radius:20px;cursor:pointer;border:1px solid #888c8c;background:#fff}
button[value=allow]{background:#ffd814;border-color:#fcd200}
button:focus-visible,input:focus-visible{outline:3px solid #007185;outline-offset:2px}
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<p class="banner" role="note">LWA sandbox: a stand-in for Login with Amazon. No real Amazon account is involved.</p>
${body}
</main>
</body>
</html>
`;
}

export interface ConsentPageModel {
  consentId: string;
  request: AuthorizationRequest;
  applicationName: string;
  /** Shown above the form after an unusable account name was typed. */
  problem?: string;
  /** What was typed, to show it again. */
  typedAccount?: string;
}

/** The page Amazon shows before an application may act for an account. */
export function renderConsentPage(model: ConsentPageModel): string {
  const { request } = model;
  const returnTo = new URL(request.redirectUri);
  const scopes = request.scope
    .split(' ')
    .map(
      (scope) =>
        `<li>${escapeHtml(SCOPE_TEXT[scope] ?? scope)} <code>${escapeHtml(scope)}</code></li>`,
    )
    .join('');
  const accounts = SAMPLE_ACCOUNTS.map(
    (account, index) =>
      `<label class="option"><input type="radio" name="account" value="${escapeHtml(account.id)}"${index === 0 ? ' checked' : ''}> ${escapeHtml(account.name)} <code>${escapeHtml(account.id)}</code></label>`,
  ).join('\n');
  const problem = model.problem
    ? `<p class="banner error" role="alert" id="account-problem">${escapeHtml(model.problem)}</p>`
    : '';
  return page(
    `Amazon: allow ${model.applicationName}?`,
    `<h1>${escapeHtml(model.applicationName)} would like to access your Amazon Advertising account</h1>
${problem}
<dl>
<dt>Application</dt><dd>${escapeHtml(model.applicationName)} <code>${escapeHtml(request.clientId)}</code></dd>
<dt>It will be able to</dt><dd><ul>${scopes}</ul></dd>
<dt>You return to</dt><dd><code>${escapeHtml(returnTo.origin)}</code></dd>
</dl>
<form method="post" action="/ap/oa/decision">
<input type="hidden" name="consent_id" value="${escapeHtml(model.consentId)}">
<fieldset>
<legend>Sandbox account</legend>
${accounts}
<label for="account_other">Or another account: name or id</label>
<input type="text" id="account_other" name="account_other" maxlength="100" autocomplete="off" aria-describedby="account_other_hint${model.problem ? ' account-problem' : ''}" value="${escapeHtml(model.typedAccount ?? '')}">
<p class="hint" id="account_other_hint">Any name works; the same name always gives the same profiles. Leave empty to use the account chosen above.</p>
</fieldset>
<div class="actions">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div>
</form>`,
  );
}

/** Shown instead of redirecting when the client or redirect URI cannot be trusted. */
export function renderErrorPage(heading: string, message: string): string {
  return page(
    `Amazon: ${heading}`,
    `<h1>${escapeHtml(heading)}</h1>
<p role="alert">${escapeHtml(message)}</p>`,
  );
}
