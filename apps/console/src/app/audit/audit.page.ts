import { ChangeDetectionStrategy, Component } from '@angular/core';
import { RouterLink } from '@angular/router';
import { EmptyState } from '../ui/empty-state';
import { PageHeader } from '../ui/page-header';

/** What happened to which connection, when, and who did it. */
@Component({
  selector: 'atk-audit-page',
  imports: [EmptyState, PageHeader, RouterLink],
  template: `
    <atk-page-header heading="Audit" />
    <atk-empty-state icon="history" heading="No audit events yet">
      <p>
        Every connect, refresh, failure and key rotation will be listed here,
        newest first.
      </p>
      <p>
        The first event is recorded when you connect an account on the
        <a routerLink="/connections">Connections</a> page.
      </p>
    </atk-empty-state>
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class AuditPage {}
