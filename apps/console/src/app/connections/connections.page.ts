import { ChangeDetectionStrategy, Component } from '@angular/core';
import { EmptyState } from '../ui/empty-state';
import { PageHeader } from '../ui/page-header';

/** The Amazon Ads accounts whose tokens the service keeps fresh. */
@Component({
  selector: 'atk-connections-page',
  imports: [EmptyState, PageHeader],
  template: `
    <atk-page-header heading="Connections" />
    <atk-empty-state icon="link_off" heading="No Amazon accounts connected yet">
      <p>
        Each Amazon Ads account you connect will be listed here with its region,
        its profiles and when its access token is refreshed next.
      </p>
      <p>Connect an account to start keeping its tokens fresh.</p>
    </atk-empty-state>
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class ConnectionsPage {}
