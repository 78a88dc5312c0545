import {
  computed,
  DestroyRef,
  inject,
  Injectable,
  signal,
} from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import {
  CONNECTION_PAGE_LIMITS,
  type ConnectionCountsDto,
  type ConnectionDto,
  type ConnectionPageDto,
  type ConnectionSort,
  type ConnectionStatus,
  type Region,
  type ServerEventDto,
} from '@keeper/contracts';
import {
  catchError,
  debounceTime,
  EMPTY,
  finalize,
  map,
  Subject,
  switchMap,
} from 'rxjs';
import {
  describeApiFailure,
  type ApiFailure,
  type ErrorHandling,
} from '../core/api';
import { EventsService } from '../core/events.service';
import { ConnectionsApi, type ConnectionsQuery } from './connections.api';

/** How long the search box waits for the typing to pause before asking the API. */
export const SEARCH_DEBOUNCE_MS = 250;

/** What the table shows: its filters, its order and the pages reached so far. */
export interface ConnectionsView {
  status: readonly ConnectionStatus[];
  region: readonly Region[];
  q: string;
  sort: ConnectionSort;
  limit: number;
  /** The `cursor` of each page reached, the first one's `null`: the last is the page shown. */
  cursors: readonly (string | null)[];
}

export const DEFAULT_CONNECTIONS_VIEW: ConnectionsView = {
  status: [],
  region: [],
  q: '',
  sort: 'created',
  limit: CONNECTION_PAGE_LIMITS.default,
  cursors: [null],
};

/**
 * The table's view outlives the page, so coming back from a connection's page shows the same
 * filters, order and page.
 */
@Injectable({ providedIn: 'root' })
export class ConnectionsViewState {
  readonly view = signal<ConnectionsView>(DEFAULT_CONNECTIONS_VIEW);
}

/** The API query of a view: its filters, its order and the cursor of the page shown. */
export function queryOf(view: ConnectionsView): ConnectionsQuery {
  return {
    status: view.status,
    region: view.region,
    q: view.q,
    sort: view.sort,
    limit: view.limit,
    cursor: view.cursors.at(-1) ?? null,
  };
}

/**
 * The Connections table's state: one page of `GET /connections` for the view (filters, sort,
 * search, cursor), the counts by status over the whole set, and the live events applied to the
 * rows on screen. Lives as long as the page (provided by it).
 */
@Injectable()
export class ConnectionsListStore {
  private readonly api = inject(ConnectionsApi);
  private readonly state = inject(ConnectionsViewState).view;
  private readonly current = signal<ConnectionPageDto | undefined>(undefined);
  private readonly liveCounts = signal<ConnectionCountsDto | undefined>(
    undefined,
  );
  /** The total when the page shown was loaded. */
  private readonly loadedTotal = signal<number | null>(null);
  private readonly busy = signal(false);
  private readonly failure = signal<ApiFailure | null>(null);
  private readonly loads = new Subject<ErrorHandling>();
  private readonly searches = new Subject<string>();

  readonly view = this.state.asReadonly();
  /** The page shown; `undefined` until the first one arrives. */
  readonly page = this.current.asReadonly();
  readonly rows = computed(() => this.current()?.items ?? []);
  /** By status over the whole set: from the last page, then from `connections.counted`. */
  readonly counts = this.liveCounts.asReadonly();
  /** A page is being read. */
  readonly loading = this.busy.asReadonly();
  /** Why the first load failed (nothing is known yet); `null` otherwise. */
  readonly loadFailure = this.failure.asReadonly();
  /** 0 for the first page. */
  readonly pageIndex = computed(() => this.state().cursors.length - 1);
  readonly hasNext = computed(() => Boolean(this.current()?.nextCursor));
  readonly hasPrevious = computed(() => this.pageIndex() > 0);
  /** A filter or a search narrows the rows. */
  readonly filtered = computed(() => {
    const view = this.state();
    return (
      view.status.length > 0 || view.region.length > 0 || view.q.trim() !== ''
    );
  });
  /** Connections added since the page was loaded (the counts grew): not in the rows yet. */
  readonly added = computed(() => {
    const loaded = this.loadedTotal();
    const total = this.liveCounts()?.total;
    return loaded === null || total === undefined
      ? 0
      : Math.max(0, total - loaded);
  });

  constructor() {
    const events = inject(EventsService);
    const destroyRef = inject(DestroyRef);
    this.loads
      .pipe(
        // A newer query makes an older one moot.
        switchMap((errors) => {
          this.busy.set(true);
          return this.api.page(queryOf(this.state()), errors).pipe(
            catchError((error: unknown) => {
              if (this.current() === undefined) {
                this.failure.set(describeApiFailure(error));
              }
              return EMPTY;
            }),
            finalize(() => this.busy.set(false)),
          );
        }),
        takeUntilDestroyed(destroyRef),
      )
      .subscribe((page) => {
        this.failure.set(null);
        this.current.set(page);
        this.liveCounts.set(page.counts);
        this.loadedTotal.set(page.counts.total);
      });
    this.searches
      .pipe(
        map((text) => text.trim()),
        debounceTime(SEARCH_DEBOUNCE_MS),
        takeUntilDestroyed(destroyRef),
      )
      .subscribe((q) => {
        if (q !== this.state().q) this.change({ q });
      });
    events.events
      .pipe(takeUntilDestroyed(destroyRef))
      .subscribe((event) => this.apply(event));
    events.resync
      .pipe(takeUntilDestroyed(destroyRef))
      .subscribe(() => this.reload('quiet'));
    this.reload();
  }

  /** Reads the page shown again; `quiet` for background reloads, whose failures need no toast. */
  reload(errors: ErrorHandling = 'toast'): void {
    this.loads.next(errors);
  }

  sortBy(sort: ConnectionSort): void {
    this.change({ sort });
  }

  filterByStatus(status: readonly ConnectionStatus[]): void {
    this.change({ status: [...status] });
  }

  filterByRegion(region: readonly Region[]): void {
    this.change({ region: [...region] });
  }

  /** What the search box holds; asked once the typing pauses ({@link SEARCH_DEBOUNCE_MS}). */
  search(text: string): void {
    this.searches.next(text);
  }

  /** Rows per page (at most the API's {@link CONNECTION_PAGE_LIMITS}`.max`). */
  setLimit(limit: number): void {
    this.change({
      limit: Math.min(Math.max(1, limit), CONNECTION_PAGE_LIMITS.max),
    });
  }

  clearFilters(): void {
    this.change({ status: [], region: [], q: '' });
  }

  next(): void {
    const cursor = this.current()?.nextCursor;
    if (!cursor) return;
    this.state.update((view) => ({
      ...view,
      cursors: [...view.cursors, cursor],
    }));
    this.reload();
  }

  previous(): void {
    if (!this.hasPrevious()) return;
    this.state.update((view) => ({
      ...view,
      cursors: view.cursors.slice(0, -1),
    }));
    this.reload();
  }

  /** A new filter or order starts again at the first page. */
  private change(patch: Partial<Omit<ConnectionsView, 'cursors'>>): void {
    this.state.update((view) => ({ ...view, ...patch, cursors: [null] }));
    this.reload();
  }

  private apply(event: ServerEventDto): void {
    switch (event.type) {
      case 'connection.changed':
        this.replaceRow(event.connection);
        break;
      case 'connection.removed':
        this.current.update((page) =>
          page && page.items.some((row) => row.id === event.connectionId)
            ? {
                ...page,
                items: page.items.filter(
                  (row) => row.id !== event.connectionId,
                ),
              }
            : page,
        );
        break;
      case 'connections.counted':
        this.liveCounts.set(event.counts);
        // The empty state (no connection at all) has no rows to lose: show the new one.
        if (this.loadedTotal() === 0 && event.counts.total > 0) {
          this.reload('quiet');
        }
        break;
    }
  }

  /** A row on screen changes in place; one that is not is none of this page's business. */
  private replaceRow(connection: ConnectionDto): void {
    this.current.update((page) => {
      if (!page) return page;
      const index = page.items.findIndex((row) => row.id === connection.id);
      if (index === -1) return page;
      const items = [...page.items];
      items[index] = connection;
      return { ...page, items };
    });
  }
}
