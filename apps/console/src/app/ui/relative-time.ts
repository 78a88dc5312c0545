import {
  ChangeDetectionStrategy,
  Component,
  computed,
  inject,
  input,
} from '@angular/core';
import { MatTooltip } from '@angular/material/tooltip';
import { ServerClock } from '../core/server-clock';
import { exactTime, relativeTime } from '../core/time-format';

/**
 * "3 minutes ago", kept current by the shared clock, with the exact time on hover and for
 * screen readers.
 */
@Component({
  selector: 'atk-relative-time',
  imports: [MatTooltip],
  template: `
    @if (time(); as at) {
      <time [attr.datetime]="at" [matTooltip]="exact()">{{ text() }}</time
      ><span class="visually-hidden"> ({{ exact() }})</span>
    } @else {
      {{ fallback() }}
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class RelativeTime {
  private readonly clock = inject(ServerClock);

  /** An ISO 8601 time. */
  readonly time = input.required<string | null>();
  /** What to say when there is no time. */
  readonly fallback = input('never');

  protected readonly text = computed(() => {
    const at = this.time();
    return at ? relativeTime(at, this.clock.now()) : '';
  });

  protected readonly exact = computed(() => {
    const at = this.time();
    return at ? exactTime(at) : '';
  });
}
