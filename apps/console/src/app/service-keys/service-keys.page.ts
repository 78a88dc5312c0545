import {
  ChangeDetectionStrategy,
  Component,
  computed,
  effect,
  inject,
  signal,
  untracked,
} from '@angular/core';
import { MatButton } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { MatIcon } from '@angular/material/icon';
import type { CreatedServiceKeyDto, ServiceKeyDto } from '@keeper/contracts';
import { catchError, map, of } from 'rxjs';
import { ConnectionLabels } from '../connections/connection-labels';
import { describeApiFailure, type ApiFailure } from '../core/api';
import { Notifier } from '../core/notifier';
import { EmptyState } from '../ui/empty-state';
import { PageHeader } from '../ui/page-header';
import { RelativeTime } from '../ui/relative-time';
import { CreateKeyDialog } from './create-key-dialog';
import { RevokeKeyDialog, RevokeKeyDialogData } from './revoke-key-dialog';
import { ServiceKeysApi } from './service-keys.api';

/** A key as the table shows it: its scope in words, with the connections' names. */
interface KeyRow {
  key: ServiceKeyDto;
  scope: string;
  /** The names of the connections it may read (ids until known, or if unknown); empty for all. */
  labels: string[];
}

/** Shown by name in the scope column; the rest are counted. */
const LABELS_SHOWN = 3;

/**
 * "Service keys": the keys downstream jobs present, made here (each shown once), limited to
 * chosen connections or not, and revoked. `SERVICE_API_KEYS` from the environment work too
 * and are not listed.
 */
@Component({
  selector: 'atk-service-keys-page',
  imports: [EmptyState, MatButton, MatIcon, PageHeader, RelativeTime],
  templateUrl: './service-keys.page.html',
  styleUrl: './service-keys.page.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class ServiceKeysPage {
  private readonly api = inject(ServiceKeysApi);
  private readonly dialog = inject(MatDialog);
  private readonly notifier = inject(Notifier);

  protected readonly keys = signal<ServiceKeyDto[] | undefined>(undefined);
  private readonly labels = inject(ConnectionLabels);
  protected readonly failure = signal<ApiFailure | null>(null);
  protected readonly revoking = signal<string | null>(null);

  protected readonly rows = computed((): KeyRow[] => {
    return (this.keys() ?? []).map((key) => {
      if (key.connectionIds === null)
        return { key, scope: 'All connections', labels: [] };
      const labels = key.connectionIds.map((id) => this.labels.labelOf(id));
      const count = labels.length;
      return {
        key,
        scope: `${count} ${count === 1 ? 'connection' : 'connections'}`,
        labels,
      };
    });
  });
  protected readonly labelsShown = LABELS_SHOWN;

  constructor() {
    this.load();
    // The names of the connections shown by name (the rest are only counted).
    effect(() => {
      const ids = (this.keys() ?? []).flatMap((key) =>
        (key.connectionIds ?? []).slice(0, LABELS_SHOWN),
      );
      untracked(() => this.labels.load(ids));
    });
  }

  protected load(): void {
    this.api
      .list()
      .pipe(
        map((keys) => ({ keys, failure: null })),
        catchError((error: unknown) =>
          of({ keys: null, failure: describeApiFailure(error) }),
        ),
      )
      .subscribe(({ keys, failure }) => {
        if (keys) {
          this.keys.set(keys);
          this.failure.set(null);
        } else if (!this.keys()) {
          this.failure.set(failure);
        }
      });
  }

  protected openCreate(): void {
    this.dialog
      .open<CreateKeyDialog, undefined, CreatedServiceKeyDto>(CreateKeyDialog, {
        width: '640px',
        maxWidth: 'calc(100vw - 32px)',
      })
      .afterClosed()
      .subscribe((created) => {
        if (!created) return;
        // Listed without the key: it was shown once, in the dialog.
        const listed: ServiceKeyDto = {
          id: created.id,
          name: created.name,
          connectionIds: created.connectionIds,
          createdAt: created.createdAt,
          lastUsedAt: created.lastUsedAt,
          revokedAt: created.revokedAt,
        };
        this.keys.update((keys) => [
          listed,
          ...(keys ?? []).filter((key) => key.id !== listed.id),
        ]);
      });
  }

  protected confirmRevoke(key: ServiceKeyDto): void {
    this.dialog
      .open<RevokeKeyDialog, RevokeKeyDialogData, boolean>(RevokeKeyDialog, {
        data: { name: key.name },
        maxWidth: '480px',
      })
      .afterClosed()
      .subscribe((confirmed) => {
        if (!confirmed) return;
        this.revoking.set(key.id);
        this.api.revoke(key.id).subscribe({
          next: (revoked) => {
            this.revoking.set(null);
            this.keys.update((keys) =>
              (keys ?? []).map((entry) =>
                entry.id === revoked.id ? revoked : entry,
              ),
            );
            this.notifier.info(
              `Revoked “${key.name}”. Jobs using it are refused from now on.`,
            );
          },
          error: () => this.revoking.set(null),
        });
      });
  }
}
