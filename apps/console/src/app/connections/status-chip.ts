import {
  ChangeDetectionStrategy,
  Component,
  computed,
  input,
} from '@angular/core';
import type { ConnectionStatus } from '@keeper/contracts';
import { MatIcon } from '@angular/material/icon';
import { presentStatus } from './status';

/** A connection's status as words, an icon and a colour: never the colour alone. */
@Component({
  selector: 'atk-status-chip',
  imports: [MatIcon],
  template: `
    <mat-icon class="icon" aria-hidden="true">{{
      presentation().icon
    }}</mat-icon>
    <span class="visually-hidden">Status:</span>
    <span class="label">{{ presentation().label }}</span>
  `,
  host: {
    '[attr.data-status]': 'status()',
    '[style.background-color]':
      "'var(' + presentation().colors.container + ')'",
    '[style.color]': "'var(' + presentation().colors.content + ')'",
  },
  styles: `
    :host {
      display: inline-flex;
      align-items: center;
      gap: 4px;
      height: 28px;
      padding: 0 12px 0 8px;
      border-radius: var(--mat-sys-corner-small);
      font: var(--mat-sys-label-large);
      white-space: nowrap;
    }

    .icon {
      width: 18px;
      height: 18px;
      font-size: 18px;
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class StatusChip {
  readonly status = input.required<ConnectionStatus>();

  protected readonly presentation = computed(() =>
    presentStatus(this.status()),
  );
}
