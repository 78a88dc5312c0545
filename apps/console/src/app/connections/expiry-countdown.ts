import {
  ChangeDetectionStrategy,
  Component,
  computed,
  inject,
  input,
} from '@angular/core';
import { ServerClock } from '../core/server-clock';
import { exactTime } from '../core/time-format';
import { tokenCountdown } from './countdown';

/**
 * A table cell's access-token countdown: `mm:ss`, "Expired" or "No token". It reads the one
 * shared server clock (no timer of its own), so a page of rows ticks with a single interval
 * and each tick re-renders these texts, not the table.
 */
@Component({
  selector: 'atk-expiry-countdown',
  template: `
    @switch (countdown().state) {
      @case ('valid') {
        <span class="time" role="timer" [attr.title]="exact()">{{
          text()
        }}</span>
      }
      @case ('expired') {
        <span class="expired">Expired</span>
      }
      @default {
        <span class="none">No token</span>
      }
    }
  `,
  styles: `
    .time {
      font-variant-numeric: tabular-nums;
    }

    .expired {
      color: var(--mat-sys-error);
    }

    .none {
      color: var(--mat-sys-on-surface-variant);
    }
  `,
  host: { '[attr.data-state]': 'countdown().state' },
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class ExpiryCountdown {
  private readonly clock = inject(ServerClock);

  /** The server's expiry time (ISO 8601), `null` without a token. */
  readonly expiresAt = input.required<string | null>();

  protected readonly countdown = computed(() =>
    tokenCountdown(this.expiresAt(), this.clock.now()),
  );
  protected readonly text = computed(() => {
    const countdown = this.countdown();
    return countdown.state === 'valid' ? countdown.text : '';
  });
  protected readonly exact = computed(() => {
    const at = this.expiresAt();
    return at ? `Expires ${exactTime(at)}` : null;
  });
}
