import {
  ChangeDetectionStrategy,
  Component,
  computed,
  inject,
  input,
} from '@angular/core';
import { MatButton } from '@angular/material/button';
import { MatIcon } from '@angular/material/icon';
import { MatProgressSpinner } from '@angular/material/progress-spinner';
import type { ConnectionDto } from '@keeper/contracts';
import { describeApiFailure } from '../core/api';
import { Notifier } from '../core/notifier';
import { RelativeTime } from '../ui/relative-time';
import { ConnectionStore } from './connection.store';

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** What a read of the profiles found, for the toast after "Refresh profiles". */
export function profilesReadSummary(connection: ConnectionDto): string {
  const lost = connection.profiles.filter((profile) => profile.lostAt).length;
  const listed = connection.profiles.length - lost;
  const parts = [count(listed, 'profile', 'profiles')];
  if (lost) parts.push(`${lost} lost`);
  if (connection.dspAdvertisers.length) {
    parts.push(
      count(
        connection.dspAdvertisers.length,
        'DSP advertiser',
        'DSP advertisers',
      ),
    );
  }
  return parts.join(', ');
}

/**
 * When the connection's profiles were last read from Amazon, and "Refresh profiles" to read
 * them (and the DSP advertisers) now instead of at the daily read.
 */
@Component({
  selector: 'atk-profiles-read',
  imports: [MatButton, MatIcon, MatProgressSpinner, RelativeTime],
  template: `
    <p class="when">
      @if (connection().profilesReadAt; as readAt) {
        Profiles read <atk-relative-time [time]="readAt" />
      } @else {
        Profiles not read from Amazon yet
      }
    </p>
    @if (canRead()) {
      <button
        matButton
        type="button"
        class="refresh-profiles"
        [disabled]="reading()"
        [attr.aria-describedby]="describedBy()"
        (click)="refreshProfiles()"
      >
        @if (reading()) {
          <mat-progress-spinner
            mode="indeterminate"
            diameter="18"
            aria-label="Reading the profiles"
          />
        } @else {
          <mat-icon>sync</mat-icon>
        }
        Refresh profiles
      </button>
    }
  `,
  styles: `
    :host {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      justify-content: space-between;
      gap: 4px 8px;
    }

    .when {
      margin: 0;
      color: var(--mat-sys-on-surface-variant);
    }
  `,
  host: { '[attr.aria-busy]': 'reading()' },
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class ProfilesRead {
  private readonly store = inject(ConnectionStore);
  private readonly notifier = inject(Notifier);

  readonly connection = input.required<ConnectionDto>();
  /** The id of what names the connection, so the button says which one it reads. */
  readonly describedBy = input<string | null>(null);

  protected readonly reading = computed(() =>
    this.store.readingProfiles().has(this.connection().id),
  );
  /** Reading profiles takes a valid access token, as "Refresh now" does. */
  protected readonly canRead = computed(
    () =>
      this.connection().status === 'active' ||
      this.connection().status === 'degraded',
  );

  protected refreshProfiles(): void {
    const { id, label } = this.connection();
    this.store.refreshProfiles(id).subscribe({
      next: (connection) =>
        this.notifier.info(
          `Read the profiles of “${label}”: ${profilesReadSummary(connection)}.`,
        ),
      error: (error: unknown) => {
        const failure = describeApiFailure(error);
        this.notifier.error(
          `Reading the profiles of “${label}” failed: ${failure.message}`,
          failure.correlationId,
        );
      },
    });
  }
}
