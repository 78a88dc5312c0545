import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { Router, RouterLink } from '@angular/router';
import { EmptyState } from '../ui/empty-state';
import { PageHeader } from '../ui/page-header';

/** Any console URL that no route matches. */
@Component({
  selector: 'atk-not-found-page',
  imports: [EmptyState, PageHeader, RouterLink],
  template: `
    <atk-page-header heading="Page not found" />
    <atk-empty-state icon="explore_off" heading="Nothing lives at this address">
      <p>
        <code>{{ url }}</code> is not a page of this console.
      </p>
      <p>Go to <a routerLink="/connections">Connections</a>.</p>
    </atk-empty-state>
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class NotFoundPage {
  protected readonly url = inject(Router).url;
}
