import {
  DestroyRef,
  inject,
  Injectable,
  signal,
  type WritableSignal,
} from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import type {
  ConnectionDto,
  RefreshResultDto,
  ServerEventDto,
} from '@keeper/contracts';
import {
  catchError,
  defer,
  EMPTY,
  finalize,
  Observable,
  Subject,
  switchMap,
  tap,
} from 'rxjs';
import {
  describeApiFailure,
  type ApiFailure,
  type ErrorHandling,
} from '../core/api';
import { EventsService } from '../core/events.service';
import { ConnectionLabels } from './connection-labels';
import { ConnectionsApi } from './connections.api';

/**
 * One connection's page: the connection from `GET /connections/:id`, kept current by the live
 * events (or by polling while they are down), and the actions on it. Lives as long as the
 * page (provided by it).
 */
@Injectable()
export class ConnectionStore {
  private readonly api = inject(ConnectionsApi);
  private readonly labels = inject(ConnectionLabels);
  private readonly current = signal<ConnectionDto | undefined>(undefined);
  private readonly failure = signal<ApiFailure | null>(null);
  private readonly gone = signal(false);
  private readonly refreshingIds = signal<ReadonlySet<string>>(new Set());
  private readonly readingProfilesIds = signal<ReadonlySet<string>>(new Set());
  private readonly reloads = new Subject<ErrorHandling>();
  private id: string | null = null;

  /** `undefined` until it arrives. */
  readonly connection = this.current.asReadonly();
  /** Why the first load failed (the connection is still unknown); `null` otherwise. */
  readonly loadFailure = this.failure.asReadonly();
  /** The server said it was removed while it was shown. */
  readonly removed = this.gone.asReadonly();
  /** Connections with a "Refresh now" under way. */
  readonly refreshing = this.refreshingIds.asReadonly();
  /** Connections with a "Refresh profiles" under way. */
  readonly readingProfiles = this.readingProfilesIds.asReadonly();

  constructor() {
    const events = inject(EventsService);
    const destroyRef = inject(DestroyRef);
    this.reloads
      .pipe(
        // A newer reload makes an older one moot.
        switchMap((errors) => {
          const id = this.id;
          if (id === null) return EMPTY;
          return this.api.get(id, errors).pipe(
            catchError((error: unknown) => {
              if (this.current() === undefined) {
                this.failure.set(describeApiFailure(error));
              }
              return EMPTY;
            }),
          );
        }),
        takeUntilDestroyed(destroyRef),
      )
      .subscribe((connection) => {
        this.failure.set(null);
        this.upsert(connection);
      });
    events.events
      .pipe(takeUntilDestroyed(destroyRef))
      .subscribe((event) => this.apply(event));
    events.resync
      .pipe(takeUntilDestroyed(destroyRef))
      .subscribe(() => this.reload('quiet'));
  }

  /** Shows the connection `id` (reading it from the API). */
  load(id: string): void {
    if (id !== this.id) {
      this.id = id;
      this.current.set(undefined);
      this.failure.set(null);
      this.gone.set(false);
    }
    this.reload();
  }

  /** Reads the connection again; `quiet` for background reloads, whose failures need no toast. */
  reload(errors: ErrorHandling = 'toast'): void {
    this.reloads.next(errors);
  }

  /**
   * Refreshes the connection's access token now. When that fails, the connection is read again:
   * the failure may have changed its status (to `needs_reauth`, say).
   */
  refresh(id: string): Observable<RefreshResultDto> {
    return this.whileRunning(
      this.refreshingIds,
      id,
      this.api.refresh(id).pipe(
        tap({
          next: (result) => this.upsert(result.connection),
          error: () => this.readAgain(id),
        }),
      ),
    );
  }

  /**
   * Reads the connection's profiles and DSP advertisers from Amazon now. Reading them may
   * refresh the token first, so a failure is followed by reading the connection again, as
   * for {@link refresh}.
   */
  refreshProfiles(id: string): Observable<ConnectionDto> {
    return this.whileRunning(
      this.readingProfilesIds,
      id,
      this.api.refreshProfiles(id).pipe(
        tap({
          next: (connection) => this.upsert(connection),
          error: () => this.readAgain(id),
        }),
      ),
    );
  }

  rename(id: string, label: string): Observable<ConnectionDto> {
    return this.api.rename(id, label).pipe(tap((c) => this.upsert(c)));
  }

  disconnect(id: string): Observable<ConnectionDto> {
    return this.api.disconnect(id).pipe(tap((c) => this.upsert(c)));
  }

  /** Marks `id` in `running` from the subscription until `work` ends, however it ends. */
  private whileRunning<T>(
    running: WritableSignal<ReadonlySet<string>>,
    id: string,
    work: Observable<T>,
  ): Observable<T> {
    return defer(() => {
      running.update((ids) => new Set(ids).add(id));
      return work;
    }).pipe(
      finalize(() =>
        running.update((ids) => {
          const rest = new Set(ids);
          rest.delete(id);
          return rest;
        }),
      ),
    );
  }

  private readAgain(id: string): void {
    this.api.get(id, 'quiet').subscribe({
      next: (connection) => this.upsert(connection),
      error: () => undefined,
    });
  }

  private apply(event: ServerEventDto): void {
    if (event.type === 'connection.changed') this.upsert(event.connection);
    if (event.type === 'connection.removed' && event.connectionId === this.id) {
      this.gone.set(true);
    }
  }

  /** Takes the connection when it is the one shown; any other is none of this page's business. */
  private upsert(connection: ConnectionDto): void {
    // A rename shows at once where the console names connections by id (audit, keys).
    this.labels.remember(connection.id, connection.label);
    if (connection.id === this.id) this.current.set(connection);
  }
}
