import { BreakpointObserver } from '@angular/cdk/layout';
import {
  ChangeDetectionStrategy,
  Component,
  computed,
  inject,
} from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { MatButton } from '@angular/material/button';
import {
  MatChipListbox,
  MatChipListboxChange,
  MatChipOption,
} from '@angular/material/chips';
import {
  MatFormField,
  MatLabel,
  MatPrefix,
} from '@angular/material/form-field';
import { MatIcon } from '@angular/material/icon';
import { MatInput } from '@angular/material/input';
import { MatProgressBar } from '@angular/material/progress-bar';
import { MatOption, MatSelect } from '@angular/material/select';
import { MatSort, MatSortHeader, type Sort } from '@angular/material/sort';
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
  CONNECTION_STATUSES,
  REGION_NAMES,
  REGIONS,
  type ConnectionDto,
  type ConnectionSort,
  type ConnectionSortKey,
  type ConnectionStatus,
  type Region,
} from '@keeper/contracts';
import { map } from 'rxjs';
import { Notifier } from '../core/notifier';
import { EmptyState } from '../ui/empty-state';
import { PageHeader } from '../ui/page-header';
import { RelativeTime } from '../ui/relative-time';
import { ConnectMenu } from './connect-menu';
import { connectOutcomeMessage, isConnectOutcome } from './connect-outcome';
import { ConnectionsListStore } from './connections-list.store';
import { ExpiryCountdown } from './expiry-countdown';
import { presentStatus } from './status';
import { StatusChip } from './status-chip';

export const CONNECTION_PAGE_SIZES = [25, 50, 100, 200];

/** Below this width the table keeps the columns that fit a phone. */
const PHONE_QUERY = '(max-width: 599.98px)';

/** The table's sortable columns, each an order of the API. */
const SORT_COLUMNS: Readonly<Record<string, ConnectionSortKey>> = {
  label: 'label',
  status: 'status',
  expiry: 'expiry',
};

/** The mat-sort state of an API order: `created` (the default) shows no arrow. */
export function sortState(sort: ConnectionSort): {
  active: string;
  direction: 'asc' | 'desc' | '';
} {
  const key = sort.replace(/^-/, '');
  if (key === 'created') return { active: '', direction: '' };
  return { active: key, direction: sort.startsWith('-') ? 'desc' : 'asc' };
}

/** The API order of a mat-sort change; no direction goes back to the default. */
export function sortOf({ active, direction }: Sort): ConnectionSort {
  const key = SORT_COLUMNS[active];
  if (!key || !direction) return 'created';
  return direction === 'desc' ? `-${key}` : key;
}

/** The Amazon Ads accounts whose tokens the service keeps fresh: a page at a time. */
@Component({
  selector: 'atk-connections-page',
  imports: [
    ConnectMenu,
    EmptyState,
    ExpiryCountdown,
    MatButton,
    MatCell,
    MatCellDef,
    MatChipListbox,
    MatChipOption,
    MatColumnDef,
    MatFormField,
    MatHeaderCell,
    MatHeaderCellDef,
    MatHeaderRow,
    MatHeaderRowDef,
    MatIcon,
    MatInput,
    MatLabel,
    MatOption,
    MatPrefix,
    MatProgressBar,
    MatRow,
    MatRowDef,
    MatSelect,
    MatSort,
    MatSortHeader,
    MatTable,
    PageHeader,
    RelativeTime,
    RouterLink,
    StatusChip,
  ],
  providers: [ConnectionsListStore],
  templateUrl: './connections.page.html',
  styleUrl: './connections.page.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class ConnectionsPage {
  private readonly store = inject(ConnectionsListStore);
  private readonly notifier = inject(Notifier);
  private readonly router = inject(Router);
  private readonly route = inject(ActivatedRoute);

  protected readonly statuses = CONNECTION_STATUSES;
  protected readonly regions = REGIONS;
  protected readonly regionNames = REGION_NAMES;
  protected readonly skeletons = [1, 2, 3, 4, 5];
  protected readonly pageSizes = CONNECTION_PAGE_SIZES;

  protected readonly view = this.store.view;
  protected readonly rows = this.store.rows;
  protected readonly counts = this.store.counts;
  protected readonly loading = this.store.loading;
  protected readonly loadFailure = this.store.loadFailure;
  protected readonly filtered = this.store.filtered;
  protected readonly added = this.store.added;
  protected readonly hasNext = this.store.hasNext;
  protected readonly hasPrevious = this.store.hasPrevious;
  protected readonly sort = computed(() => sortState(this.view().sort));

  /** "Rows 51–100", or "No rows". */
  protected readonly range = computed(() => {
    const count = this.rows().length;
    if (!count) return 'No rows';
    const first = this.store.pageIndex() * this.view().limit + 1;
    return `Rows ${first}–${first + count - 1}`;
  });
  protected readonly pageNumber = computed(() => this.store.pageIndex() + 1);

  private readonly phone = toSignal(
    inject(BreakpointObserver)
      .observe(PHONE_QUERY)
      .pipe(map((state) => state.matches)),
    { initialValue: false },
  );
  protected readonly columns = computed(() =>
    this.phone()
      ? ['label', 'status', 'expiry']
      : [
          'label',
          'region',
          'status',
          'expiry',
          'lastRefreshed',
          'failures',
          'profiles',
        ],
  );

  constructor() {
    // Back from Amazon without a connection to show (a failure): the toast says why. A
    // success with its connection went to the connection's page (see `connectOutcomeRedirect`).
    const query = this.route.snapshot.queryParamMap;
    const outcome = query.get('connect');
    if (!isConnectOutcome(outcome)) return;
    const message = connectOutcomeMessage(outcome, {
      reason: query.get('reason'),
    });
    if (message.failed) this.notifier.error(message.text);
    else this.notifier.info(message.text);
    // A reload or a bookmark must not say it again.
    void this.router.navigate([], {
      relativeTo: this.route,
      queryParams: {},
      replaceUrl: true,
    });
  }

  protected readonly trackById = (_: number, connection: ConnectionDto) =>
    connection.id;

  protected statusLabel(status: ConnectionStatus): string {
    return presentStatus(status).label;
  }

  protected regionName(region: Region): string {
    return REGION_NAMES[region] ?? region;
  }

  protected profilesCount(connection: ConnectionDto): string {
    const lost = connection.profiles.filter((profile) => profile.lostAt).length;
    const listed = connection.profiles.length - lost;
    return lost ? `${listed} (${lost} lost)` : String(listed);
  }

  protected sortBy(sort: Sort): void {
    this.store.sortBy(sortOf(sort));
  }

  protected filterByStatus(change: MatChipListboxChange): void {
    this.store.filterByStatus((change.value as ConnectionStatus[]) ?? []);
  }

  protected filterByRegion(region: Region | null): void {
    this.store.filterByRegion(region ? [region] : []);
  }

  protected search(text: string): void {
    this.store.search(text);
  }

  protected clearFilters(): void {
    this.store.clearFilters();
  }

  protected setLimit(limit: number): void {
    this.store.setLimit(limit);
  }

  protected next(): void {
    this.store.next();
  }

  protected previous(): void {
    this.store.previous();
  }

  protected retry(): void {
    this.store.reload();
  }

  protected open(connection: ConnectionDto, event: MouseEvent): void {
    // The label is a link: its own click, and a click that selects text, are left alone.
    if ((event.target as Element).closest('a')) return;
    if (window.getSelection()?.toString()) return;
    void this.router.navigate(['/connections', connection.id]);
  }
}
