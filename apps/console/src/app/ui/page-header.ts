import { ChangeDetectionStrategy, Component, input } from '@angular/core';

/** A page's `<h1>`, with room on its right for the page's actions (projected). */
@Component({
  selector: 'atk-page-header',
  template: `
    <h1 class="heading">{{ heading() }}</h1>
    <div class="actions"><ng-content /></div>
  `,
  styles: `
    :host {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      justify-content: space-between;
      gap: 16px;
      margin-bottom: 24px;
    }

    .heading {
      margin: 0;
      font: var(--mat-sys-headline-medium);
      color: var(--mat-sys-on-surface);
    }

    .actions {
      display: flex;
      gap: 8px;
    }

    .actions:empty {
      display: none;
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class PageHeader {
  readonly heading = input.required<string>();
}
