import {
  ChangeDetectionStrategy,
  Component,
  inject,
  signal,
} from '@angular/core';
import { MatButton } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { MatIcon } from '@angular/material/icon';
import { RouterLink } from '@angular/router';
import {
  REGION_NAMES,
  type ConnectLinkDto,
  type ConnectLinkState,
} from '@keeper/contracts';
import { catchError, map, of } from 'rxjs';
import { describeApiFailure, type ApiFailure } from '../core/api';
import { Notifier } from '../core/notifier';
import { EmptyState } from '../ui/empty-state';
import { PageHeader } from '../ui/page-header';
import { RelativeTime } from '../ui/relative-time';
import { ConnectLinksApi } from './connect-links.api';
import { openCreateLinkDialog } from './create-link-dialog';
import { RevokeLinkDialog, RevokeLinkDialogData } from './revoke-link-dialog';

export const LINK_STATE_NAMES: Readonly<Record<ConnectLinkState, string>> = {
  open: 'Open',
  used: 'Used',
  expired: 'Expired',
  revoked: 'Revoked',
};

/**
 * "Connect links": single-use links that let an account's owner consent with no keeper login,
 * made here (each URL shown once), listed with their state, and revoked.
 */
@Component({
  selector: 'atk-connect-links-page',
  imports: [
    EmptyState,
    MatButton,
    MatIcon,
    PageHeader,
    RelativeTime,
    RouterLink,
  ],
  templateUrl: './connect-links.page.html',
  styleUrl: './connect-links.page.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class ConnectLinksPage {
  private readonly api = inject(ConnectLinksApi);
  private readonly dialog = inject(MatDialog);
  private readonly notifier = inject(Notifier);

  protected readonly links = signal<ConnectLinkDto[] | undefined>(undefined);
  protected readonly failure = signal<ApiFailure | null>(null);
  protected readonly revoking = signal<string | null>(null);
  protected readonly regionNames = REGION_NAMES;
  protected readonly stateNames = LINK_STATE_NAMES;

  constructor() {
    this.load();
  }

  protected nameOf(link: ConnectLinkDto): string {
    return link.label ?? `${REGION_NAMES[link.region]} link`;
  }

  protected load(): void {
    this.api
      .list()
      .pipe(
        map((links) => ({ links, failure: null })),
        catchError((error: unknown) =>
          of({ links: null, failure: describeApiFailure(error) }),
        ),
      )
      .subscribe(({ links, failure }) => {
        if (links) {
          this.links.set(links);
          this.failure.set(null);
        } else if (!this.links()) {
          this.failure.set(failure);
        }
      });
  }

  protected openCreate(): void {
    openCreateLinkDialog(this.dialog)
      .afterClosed()
      .subscribe((created) => {
        if (!created) return;
        // Listed without its URL: it was shown once, in the dialog.
        const { url: _shownOnce, ...listed } = created;
        this.links.update((links) => [
          listed,
          ...(links ?? []).filter((link) => link.id !== listed.id),
        ]);
      });
  }

  protected confirmRevoke(link: ConnectLinkDto): void {
    const name = this.nameOf(link);
    this.dialog
      .open<RevokeLinkDialog, RevokeLinkDialogData, boolean>(RevokeLinkDialog, {
        data: { name },
        maxWidth: '480px',
      })
      .afterClosed()
      .subscribe((confirmed) => {
        if (!confirmed) return;
        this.revoking.set(link.id);
        this.api.revoke(link.id).subscribe({
          next: (revoked) => {
            this.revoking.set(null);
            this.links.update((links) =>
              (links ?? []).map((entry) =>
                entry.id === revoked.id ? revoked : entry,
              ),
            );
            this.notifier.info(`Revoked the link “${name}”.`);
          },
          error: () => this.revoking.set(null),
        });
      });
  }
}
