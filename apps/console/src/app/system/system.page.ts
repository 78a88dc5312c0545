import { ChangeDetectionStrategy, Component } from '@angular/core';
import { EmptyState } from '../ui/empty-state';
import { PageHeader } from '../ui/page-header';

/** Whether the service is ready: its checks, encryption keys and refresh scheduler. */
@Component({
  selector: 'atk-system-page',
  imports: [EmptyState, PageHeader],
  template: `
    <atk-page-header heading="System" />
    <atk-empty-state icon="monitor_heart" heading="No system status yet">
      <p>
        Readiness checks, key ids and the refresh scheduler's state will appear
        here.
      </p>
      <p>
        Until then, the API answers its readiness checks at
        <code>/health/ready</code>.
      </p>
    </atk-empty-state>
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class SystemPage {}
