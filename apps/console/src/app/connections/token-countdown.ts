import {
  ChangeDetectionStrategy,
  Component,
  computed,
  inject,
  input,
} from '@angular/core';
import { MatProgressBar } from '@angular/material/progress-bar';
import { ServerClock } from '../core/server-clock';
import { tokenCountdown } from './countdown';

/**
 * The access token's time left as `mm:ss` with a bar over its lifetime, ticking with the shared
 * server clock: each countdown re-renders itself, not the card or the list around it.
 */
@Component({
  selector: 'atk-token-countdown',
  imports: [MatProgressBar],
  template: `
    @if (refreshing()) {
      <p class="line">Access token: <strong>refreshing…</strong></p>
      <mat-progress-bar
        mode="indeterminate"
        aria-label="Refreshing the access token"
      />
    } @else {
      @switch (countdown().state) {
        @case ('valid') {
          <p class="line">
            Access token expires in
            <strong class="time" role="timer">{{ text() }}</strong>
          </p>
          <mat-progress-bar
            mode="determinate"
            [value]="percentLeft()"
            aria-label="Share of the access token's lifetime left"
          />
        }
        @case ('expired') {
          <p class="line">Access token: <strong>expired</strong></p>
          <mat-progress-bar
            mode="determinate"
            [value]="0"
            aria-label="Share of the access token's lifetime left"
          />
        }
        @default {
          <p class="line">No access token</p>
        }
      }
    }
  `,
  styles: `
    :host {
      display: block;
    }

    .line {
      margin: 0 0 6px;
      font: var(--mat-sys-body-medium);
    }

    .time {
      font-variant-numeric: tabular-nums;
    }
  `,
  host: {
    '[attr.data-state]': 'refreshing() ? "refreshing" : countdown().state',
  },
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class TokenCountdown {
  private readonly clock = inject(ServerClock);

  /** The server's expiry time (ISO 8601), `null` without a token. */
  readonly expiresAt = input.required<string | null>();
  readonly refreshing = input(false);

  protected readonly countdown = computed(() =>
    tokenCountdown(this.expiresAt(), this.clock.now()),
  );

  protected readonly text = computed(() => {
    const countdown = this.countdown();
    return countdown.state === 'valid' ? countdown.text : '';
  });

  /** Whole percents, so the bar changes every 36 s, not every second. */
  protected readonly percentLeft = computed(() => {
    const countdown = this.countdown();
    return countdown.state === 'valid'
      ? Math.round(countdown.fractionLeft * 100)
      : 0;
  });
}
