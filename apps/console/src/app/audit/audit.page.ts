import { BreakpointObserver } from '@angular/cdk/layout';
import {
  ChangeDetectionStrategy,
  Component,
  computed,
  DestroyRef,
  effect,
  inject,
  input,
  linkedSignal,
  signal,
  untracked,
} from '@angular/core';
import { takeUntilDestroyed, toSignal } from '@angular/core/rxjs-interop';
import { MatIconButton, MatButton } from '@angular/material/button';
import {
  MatAutocomplete,
  MatAutocompleteTrigger,
} from '@angular/material/autocomplete';
import {
  MatFormField,
  MatLabel,
  MatSuffix,
} from '@angular/material/form-field';
import { MatIcon } from '@angular/material/icon';
import { MatInput } from '@angular/material/input';
import {
  MatPaginator,
  MatPaginatorIntl,
  PageEvent,
} from '@angular/material/paginator';
import { MatProgressBar } from '@angular/material/progress-bar';
import { MatOption, MatSelect } from '@angular/material/select';
import {
  MatCell,
  MatCellDef,
  MatColumnDef,
  MatHeaderCell,
  MatHeaderCellDef,
  MatHeaderRow,
  MatHeaderRowDef,
  MatRow,
  MatRowDef,
  MatTable,
} from '@angular/material/table';
import { ActivatedRoute, Router, RouterLink } from '@angular/router';
import {
  AUDIT_EVENT_TYPES,
  type AuditEventDto,
  type AuditEventPageDto,
} from '@keeper/contracts';
import {
  catchError,
  debounceTime,
  distinctUntilChanged,
  map,
  of,
  Subject,
  switchMap,
} from 'rxjs';
import {
  describeApiFailure,
  type ApiFailure,
  type ErrorHandling,
} from '../core/api';
import { EventsService } from '../core/events.service';
import { exactTime } from '../core/time-format';
import { ConnectionLabels } from '../connections/connection-labels';
import { ConnectionsApi } from '../connections/connections.api';
import { EmptyState } from '../ui/empty-state';
import { PageHeader } from '../ui/page-header';
import { RelativeTime } from '../ui/relative-time';
import { AuditApi, type AuditQuery } from './audit.api';
import {
  auditDetailRows,
  auditTypeLabel,
  FAILURE_TYPES,
  isAuditEventType,
} from './audit-labels';

export const AUDIT_PAGE_SIZES = [25, 50, 100];
/** How many connections the connection filter offers at once; typing narrows the rest. */
export const CONNECTION_OPTIONS_MAX = 20;
/** How long the connection filter waits after the last key press before it asks the API. */
export const CONNECTION_SEARCH_DEBOUNCE_MS = 250;
const PHONE_QUERY = '(max-width: 599.98px)';

/** What the connection filter offers: the API's matches for what was typed. */
interface ConnectionMatches {
  items: { id: string; label: string }[];
  more: boolean;
}

interface Paging {
  index: number;
  /** `before` of each page reached so far: `null` for the newest. */
  cursors: (string | null)[];
  /** How many events the pages before each one showed. */
  offsets: number[];
}

type LoadResult = { page: AuditEventPageDto } | { failure: ApiFailure };

/** What happened to which connection, when, and who did it: newest first, a page at a time. */
@Component({
  selector: 'atk-audit-page',
  imports: [
    EmptyState,
    MatAutocomplete,
    MatAutocompleteTrigger,
    MatButton,
    MatCell,
    MatCellDef,
    MatColumnDef,
    MatFormField,
    MatHeaderCell,
    MatHeaderCellDef,
    MatHeaderRow,
    MatHeaderRowDef,
    MatIcon,
    MatIconButton,
    MatInput,
    MatLabel,
    MatOption,
    MatPaginator,
    MatProgressBar,
    MatRow,
    MatRowDef,
    MatSelect,
    MatSuffix,
    MatTable,
    PageHeader,
    RelativeTime,
    RouterLink,
  ],
  // Cursor paging has no total: the range reads "1 – 50 of many" until the oldest page.
  providers: [
    { provide: MatPaginatorIntl, useFactory: () => new MatPaginatorIntl() },
  ],
  templateUrl: './audit.page.html',
  styleUrl: './audit.page.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class AuditPage {
  private readonly auditApi = inject(AuditApi);
  private readonly router = inject(Router);
  private readonly route = inject(ActivatedRoute);
  private readonly paginatorIntl = inject(MatPaginatorIntl);

  /** Query parameters: the filters live in the URL, so a reload or a login keeps them. */
  readonly connectionId = input<string>();
  readonly type = input<string>();

  protected readonly eventTypes = AUDIT_EVENT_TYPES;
  protected readonly pageSizes = AUDIT_PAGE_SIZES;
  protected readonly typeLabel = auditTypeLabel;
  protected readonly exactTime = exactTime;
  protected readonly detailRows = auditDetailRows;

  protected readonly connectionFilter = computed(
    () => this.connectionId() || null,
  );
  protected readonly typeFilter = computed(() => {
    const type = this.type();
    return isAuditEventType(type) ? type : null;
  });
  protected readonly filtered = computed(
    () => this.connectionFilter() !== null || this.typeFilter() !== null,
  );

  protected readonly pageSize = signal(50);
  /** Back to the newest page whenever a filter or the page size changes. */
  protected readonly paging = linkedSignal<unknown, Paging>({
    source: () => [this.connectionFilter(), this.typeFilter(), this.pageSize()],
    computation: () => ({ index: 0, cursors: [null], offsets: [0] }),
  });

  private readonly query = computed(
    (): AuditQuery => ({
      connectionId: this.connectionFilter(),
      type: this.typeFilter(),
      before: this.paging().cursors[this.paging().index],
      limit: this.pageSize(),
    }),
  );

  protected readonly page = signal<AuditEventPageDto | undefined>(undefined);
  protected readonly loading = signal(true);
  /** Why the page did not load, while nothing loaded yet. */
  protected readonly failure = signal<ApiFailure | null>(null);
  private readonly loads = new Subject<{
    query: AuditQuery;
    errors: ErrorHandling;
  }>();
  protected readonly events = computed(() => this.page()?.items ?? []);
  private readonly expandedIds = signal<ReadonlySet<string>>(new Set());

  // Rows and the filter name connections by label, asked for by id as they are shown.
  private readonly labels = inject(ConnectionLabels);
  private readonly connectionsApi = inject(ConnectionsApi);

  /** The filter's connection by label (its id until known, or when the API does not know it). */
  private readonly filterLabel = computed(() => {
    const id = this.connectionFilter();
    return id ? this.labels.labelOf(id) : '';
  });
  /** The text in the connection filter's box: what was typed, or the chosen connection. */
  protected readonly connectionText = linkedSignal(() => this.filterLabel());
  protected readonly connectionDisplay = (id: string | null): string =>
    id ? this.labels.labelOf(id) : '';
  private readonly connectionSearches = new Subject<string>();
  protected readonly connectionMatches = signal<ConnectionMatches['items']>([]);
  protected readonly connectionMatchesMore = signal(false);

  private readonly phone = toSignal(
    inject(BreakpointObserver)
      .observe(PHONE_QUERY)
      .pipe(map((state) => state.matches)),
    { initialValue: false },
  );
  protected readonly columns = computed(() =>
    this.phone()
      ? ['time', 'type', 'expand']
      : ['time', 'type', 'connection', 'actor', 'expand'],
  );

  /** Next is possible exactly when the API gave a cursor; the range label says the rest. */
  protected readonly paginatorLength = computed(() => {
    const { index } = this.paging();
    const size = this.pageSize();
    return (index + 1) * size + (this.page()?.nextCursor ? 1 : 0);
  });

  constructor() {
    const destroyRef = inject(DestroyRef);
    this.connectionSearches
      .pipe(
        debounceTime(CONNECTION_SEARCH_DEBOUNCE_MS),
        distinctUntilChanged(),
        switchMap((q) =>
          this.connectionsApi
            .page({ q, limit: CONNECTION_OPTIONS_MAX }, 'quiet')
            .pipe(
              map(
                (page): ConnectionMatches => ({
                  items: page.items.map(({ id, label }) => ({ id, label })),
                  more: page.nextCursor !== null,
                }),
              ),
              catchError(() =>
                of<ConnectionMatches>({ items: [], more: false }),
              ),
            ),
        ),
        takeUntilDestroyed(destroyRef),
      )
      .subscribe(({ items, more }) => {
        for (const { id, label } of items) this.labels.remember(id, label);
        this.connectionMatches.set(items);
        this.connectionMatchesMore.set(more);
      });
    effect(() => {
      const ids = new Set(this.events().map((event) => event.connectionId));
      ids.add(this.connectionFilter());
      untracked(() => this.labels.load(ids));
    });

    const loads = this.loads;
    loads
      .pipe(
        switchMap(({ query, errors }) =>
          this.auditApi.page(query, errors).pipe(
            map((page): LoadResult => ({ page })),
            catchError((error: unknown) =>
              of<LoadResult>({ failure: describeApiFailure(error) }),
            ),
          ),
        ),
        takeUntilDestroyed(destroyRef),
      )
      .subscribe((result) => {
        this.loading.set(false);
        if ('page' in result) {
          this.failure.set(null);
          this.page.set(result.page);
        } else if (!this.page()) {
          this.failure.set(result.failure);
        }
      });

    effect(() => {
      const query = this.query();
      untracked(() => {
        this.loading.set(true);
        this.expandedIds.set(new Set());
        loads.next({ query, errors: 'toast' });
      });
    });

    const live = inject(EventsService);
    live.events.pipe(takeUntilDestroyed(destroyRef)).subscribe((event) => {
      if (event.type === 'audit.appended') this.prepend(event.event);
    });
    // Pages further back do not change; only the newest one is worth reloading.
    live.resync.pipe(takeUntilDestroyed(destroyRef)).subscribe(() => {
      if (this.paging().index === 0) {
        loads.next({ query: this.query(), errors: 'quiet' });
      }
    });

    this.paginatorIntl.itemsPerPageLabel = 'Events per page';
    this.paginatorIntl.getRangeLabel = () => this.rangeLabel();
    effect(() => {
      this.rangeLabel();
      this.paginatorIntl.changes.next();
    });
  }

  protected readonly rangeLabel = computed(() => {
    const count = this.events().length;
    if (count === 0) return 'No events';
    const { index, offsets } = this.paging();
    const start = offsets[index] + 1;
    const end = offsets[index] + count;
    return this.page()?.nextCursor
      ? `${start} – ${end} of many`
      : `${start} – ${end} of ${end}`;
  });

  protected retry(): void {
    this.loading.set(true);
    this.loads.next({ query: this.query(), errors: 'toast' });
  }

  protected connectionLabel(connectionId: string | null): string {
    if (!connectionId) return '—';
    return this.labels.labelOf(connectionId);
  }

  protected isFailure(event: AuditEventDto): boolean {
    return FAILURE_TYPES.has(event.type);
  }

  protected isExpanded(id: string): boolean {
    return this.expandedIds().has(id);
  }

  protected toggle(id: string): void {
    this.expandedIds.update((ids) => {
      const next = new Set(ids);
      if (!next.delete(id)) next.add(id);
      return next;
    });
  }

  /**
   * Asks the API for the connections matching what is typed (once the typing pauses). The
   * chosen connection's own label, as the box shows it, searches everything.
   */
  protected searchConnections(text: string): void {
    this.connectionText.set(text);
    const q = text.trim();
    this.connectionSearches.next(q === this.filterLabel() ? '' : q);
  }

  /** Closed without a choice: the box shows the filter again, not a half-typed search. */
  protected restoreConnectionText(): void {
    this.connectionText.set(this.filterLabel());
  }

  protected filterByConnection(connectionId: string | null): void {
    this.setFilters({ connectionId });
  }

  protected filterByType(type: string | null): void {
    this.setFilters({ type });
  }

  protected clearFilters(): void {
    this.setFilters({ connectionId: null, type: null });
  }

  protected changePage(event: PageEvent): void {
    if (event.pageSize !== this.pageSize()) {
      this.pageSize.set(event.pageSize);
      return;
    }
    const paging = this.paging();
    if (event.pageIndex > paging.index) {
      const nextCursor = this.page()?.nextCursor;
      if (!nextCursor) return;
      const index = paging.index + 1;
      this.paging.set({
        index,
        cursors: [...paging.cursors.slice(0, index), nextCursor],
        offsets: [
          ...paging.offsets.slice(0, index),
          paging.offsets[paging.index] + this.events().length,
        ],
      });
    } else if (event.pageIndex < paging.index) {
      this.paging.set({ ...paging, index: event.pageIndex });
    }
  }

  /** A live event shows on the newest page when it passes the filters. */
  private prepend(event: AuditEventDto): void {
    if (this.paging().index !== 0) return;
    const connectionId = this.connectionFilter();
    const type = this.typeFilter();
    if (connectionId && event.connectionId !== connectionId) return;
    if (type && event.type !== type) return;
    this.page.update((page) =>
      page && !page.items.some((item) => item.id === event.id)
        ? { ...page, items: [event, ...page.items] }
        : page,
    );
  }

  private setFilters(filters: {
    connectionId?: string | null;
    type?: string | null;
  }): void {
    void this.router.navigate([], {
      relativeTo: this.route,
      queryParams: filters,
      queryParamsHandling: 'merge',
    });
  }
}
