import {
  ChangeDetectionStrategy,
  Component,
  computed,
  DestroyRef,
  inject,
  signal,
} from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { MatButton } from '@angular/material/button';
import { MatIcon } from '@angular/material/icon';
import type { SystemStatusDto } from '@keeper/contracts';
import {
  catchError,
  interval,
  map,
  merge,
  of,
  startWith,
  Subject,
  switchMap,
} from 'rxjs';
import {
  describeApiFailure,
  type ApiFailure,
  type ErrorHandling,
} from '../core/api';
import { EventsService } from '../core/events.service';
import { EmptyState } from '../ui/empty-state';
import { PageHeader } from '../ui/page-header';
import { RelativeTime } from '../ui/relative-time';
import { describeCheck, formatDuration } from './readiness-checks';
import { SystemApi } from './system.api';

/** How often the page reads the status again: the scheduler ticks every minute by default. */
export const SYSTEM_RELOAD_MS = 30_000;

type LoadResult = { status: SystemStatusDto } | { failure: ApiFailure };

/** Whether the service is ready: its checks, encryption keys and refresh scheduler. */
@Component({
  selector: 'atk-system-page',
  imports: [EmptyState, MatButton, MatIcon, PageHeader, RelativeTime],
  templateUrl: './system.page.html',
  styleUrl: './system.page.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class SystemPage {
  private readonly reloads = new Subject<ErrorHandling>();

  protected readonly status = signal<SystemStatusDto | undefined>(undefined);
  /** Why the status did not load, while none loaded yet. */
  protected readonly failure = signal<ApiFailure | null>(null);
  protected readonly describeCheck = describeCheck;

  protected readonly refreshWindow = computed(() => {
    const seconds = this.status()?.refreshWindowSeconds;
    return seconds === undefined ? '' : formatDuration(seconds);
  });
  protected readonly checksDown = computed(
    () =>
      this.status()?.checks.filter((check) => check.status === 'down').length ??
      0,
  );

  constructor() {
    const api = inject(SystemApi);
    merge(
      this.reloads,
      interval(SYSTEM_RELOAD_MS).pipe(map((): ErrorHandling => 'quiet')),
      inject(EventsService).resync.pipe(map((): ErrorHandling => 'quiet')),
    )
      .pipe(
        startWith<ErrorHandling>('toast'),
        switchMap((errors) =>
          api.status(errors).pipe(
            map((status): LoadResult => ({ status })),
            catchError((error: unknown) =>
              of<LoadResult>({ failure: describeApiFailure(error) }),
            ),
          ),
        ),
        takeUntilDestroyed(inject(DestroyRef)),
      )
      .subscribe((result) => {
        if ('status' in result) {
          this.status.set(result.status);
          this.failure.set(null);
        } else if (!this.status()) {
          this.failure.set(result.failure);
        }
      });
  }

  protected retry(): void {
    this.reloads.next('toast');
  }
}
