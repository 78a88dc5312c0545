import { DOCUMENT } from '@angular/common';
import {
  ChangeDetectionStrategy,
  Component,
  computed,
  inject,
  signal,
} from '@angular/core';
import { MatButton } from '@angular/material/button';
import {
  MAT_DIALOG_DATA,
  MatDialogActions,
  MatDialogClose,
  MatDialogContent,
  MatDialogTitle,
} from '@angular/material/dialog';
import { MatFormField, MatHint, MatLabel } from '@angular/material/form-field';
import { MatOption, MatSelect } from '@angular/material/select';
import type { ConnectionDto } from '@keeper/contracts';
import { API_PREFIX } from '../core/api';
import { CopyButton } from '../ui/copy-button';
import { accountTypeName } from './profile-list';

export interface UseFromJobsDialogData {
  connection: ConnectionDto;
}

/**
 * The shell variable the curl example reads the service key from: the console never knows a
 * service key, and an example must not invite pasting one into a shell history.
 */
export const SERVICE_KEY_PLACEHOLDER = '$KEEPER_SERVICE_KEY';

/**
 * The base URL an Ads API client is given for a connection: the proxy's
 * `/connections/<id>/ads`, on the origin the console is served from: whatever serves the
 * console proxies `/api` to the API (README "Deployment").
 */
export function proxyBaseUrl(origin: string, connectionId: string): string {
  return `${origin}${API_PREFIX}/connections/${encodeURIComponent(connectionId)}/ads`;
}

/** A first call through the proxy, ready to paste into a shell. */
export function curlExample(baseUrl: string, profileId: string | null): string {
  const lines = [
    `curl -H "Authorization: Bearer ${SERVICE_KEY_PLACEHOLDER}"`,
    ...(profileId ? [`  -H "Amazon-Advertising-API-Scope: ${profileId}"`] : []),
    `  ${baseUrl}/v2/profiles`,
  ];
  return lines.join(' \\\n');
}

/**
 * "Use from your jobs": what a reporting job needs to call the Ads API through the keeper
 * (the base URL, the headers, a curl to try) and what the keeper does for it.
 */
@Component({
  selector: 'atk-use-from-jobs-dialog',
  imports: [
    CopyButton,
    MatButton,
    MatDialogActions,
    MatDialogClose,
    MatDialogContent,
    MatDialogTitle,
    MatFormField,
    MatHint,
    MatLabel,
    MatOption,
    MatSelect,
  ],
  template: `
    <h2 mat-dialog-title>Use “{{ connection.label }}” from your jobs</h2>
    <mat-dialog-content>
      <p class="what">
        Give any Amazon Ads API client this base URL, and your service key where
        it puts the access token. The keeper adds Amazon's ClientId and this
        connection's access token, refreshes the token and retries once on a
        401, waits out a 429, and passes report download redirects through, so
        your jobs never handle a token.
      </p>

      <h3>Base URL</h3>
      <div class="copyable">
        <code class="base-url">{{ baseUrl }}</code>
        <atk-copy-button [text]="baseUrl" what="the base URL" />
      </div>

      <h3>Headers</h3>
      @if (usableProfiles.length) {
        <mat-form-field
          appearance="outline"
          class="profile-field"
          subscriptSizing="dynamic"
        >
          <mat-label>Profile (the scope)</mat-label>
          <mat-select
            class="profile-select"
            [value]="profileId()"
            (selectionChange)="profileId.set($event.value)"
          >
            @for (profile of usableProfiles; track profile.profileId) {
              <mat-option [value]="profile.profileId">
                {{ profile.countryCode }} · {{ profile.accountName }} ({{
                  profile.typeName
                }}) · {{ profile.profileId }}
              </mat-option>
            }
          </mat-select>
          <mat-hint>Profiles Amazon no longer lists are left out.</mat-hint>
        </mat-form-field>
      } @else {
        <p class="no-profile">
          This connection reaches no profile yet. Calls that need a scope will
          be refused; <code>/v2/profiles</code> needs none.
        </p>
      }
      <pre class="headers"><code>Authorization: Bearer &lt;your service key&gt;
Amazon-Advertising-API-Scope: {{ scopeShown() }}</code></pre>
      <p class="hint">
        A service key is made on the Service keys page (shown once, when it is
        made) or is one of the API's <code>SERVICE_API_KEYS</code>.
      </p>

      <h3>Try it</h3>
      <div class="copyable">
        <pre class="curl"><code>{{ curl() }}</code></pre>
        <atk-copy-button [text]="curl()" what="the curl example" />
      </div>
      <p class="hint">
        Set <code>KEEPER_SERVICE_KEY</code> to your service key first.
      </p>
    </mat-dialog-content>
    <mat-dialog-actions align="end">
      <button matButton type="button" mat-dialog-close>Close</button>
    </mat-dialog-actions>
  `,
  styles: `
    h3 {
      margin: 16px 0 4px;
      font: var(--mat-sys-title-small);
      color: var(--mat-sys-on-surface);
    }

    .what {
      margin-top: 0;
    }

    .copyable {
      display: flex;
      align-items: flex-start;
      gap: 8px;
    }

    .base-url,
    pre {
      flex: 1;
      min-width: 0;
      overflow-wrap: anywhere;
    }

    .base-url {
      padding: 8px;
    }

    pre {
      margin: 0;
      padding: 8px;
      border-radius: var(--mat-sys-corner-extra-small);
      background: var(--mat-sys-surface-container-high);
      color: var(--mat-sys-on-surface);
      font:
        0.875rem / 1.5 ui-monospace,
        'Roboto Mono',
        monospace;
      // Wrapped, not scrolled sideways: a scrolling region would need its own focus stop.
      white-space: pre-wrap;

      code {
        padding: 0;
        background: none;
      }
    }

    .profile-field {
      width: 100%;
      margin-bottom: 8px;
    }

    .hint,
    .no-profile {
      margin: 4px 0 0;
      color: var(--mat-sys-on-surface-variant);
      font: var(--mat-sys-body-small);
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class UseFromJobsDialog {
  protected readonly connection =
    inject<UseFromJobsDialogData>(MAT_DIALOG_DATA).connection;
  protected readonly baseUrl = proxyBaseUrl(
    inject(DOCUMENT).location.origin,
    this.connection.id,
  );

  /** Amazon no longer lists a lost profile, so it is no scope to offer. */
  protected readonly usableProfiles = this.connection.profiles
    .filter((profile) => !profile.lostAt)
    .map((profile) => ({
      ...profile,
      typeName: accountTypeName(profile.accountType),
    }));

  protected readonly profileId = signal<string | null>(
    this.usableProfiles[0]?.profileId ?? null,
  );

  protected readonly scopeShown = computed(
    () => this.profileId() ?? '<profile id>',
  );

  protected readonly curl = computed(() =>
    curlExample(this.baseUrl, this.profileId()),
  );
}
