import { ChangeDetectionStrategy, Component, input } from '@angular/core';
import { MatIcon } from '@angular/material/icon';

/**
 * What a page shows while it has nothing to list: an icon, a heading, and the projected
 * sentences saying what will appear and the first step towards it.
 */
@Component({
  selector: 'atk-empty-state',
  imports: [MatIcon],
  template: `
    <div class="icon-badge">
      <mat-icon class="icon">{{ icon() }}</mat-icon>
    </div>
    <h2 class="heading">{{ heading() }}</h2>
    <div class="body"><ng-content /></div>
  `,
  styles: `
    :host {
      display: flex;
      flex-direction: column;
      align-items: center;
      gap: 16px;
      margin: 48px auto;
      max-width: 36rem;
      text-align: center;
    }

    .icon-badge {
      display: grid;
      place-items: center;
      width: 96px;
      height: 96px;
      border-radius: var(--mat-sys-corner-full);
      background: var(--mat-sys-primary-container);
      color: var(--mat-sys-on-primary-container);
    }

    .icon {
      width: 48px;
      height: 48px;
      font-size: 48px;
    }

    .heading {
      margin: 0;
      text-wrap: balance;
      font: var(--mat-sys-headline-small);
      color: var(--mat-sys-on-surface);
    }

    .body {
      text-wrap: balance;
      font: var(--mat-sys-body-large);
      color: var(--mat-sys-on-surface-variant);
    }

    .body ::ng-deep p {
      margin: 0 0 8px;
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class EmptyState {
  /** A Material Symbols name. */
  readonly icon = input.required<string>();
  readonly heading = input.required<string>();
}
