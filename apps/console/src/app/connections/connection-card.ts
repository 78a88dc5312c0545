import {
  afterNextRender,
  ChangeDetectionStrategy,
  Component,
  computed,
  ElementRef,
  inject,
  Injector,
  input,
  signal,
  viewChild,
} from '@angular/core';
import { MatButton, MatIconButton } from '@angular/material/button';
import { MatDialog } from '@angular/material/dialog';
import { openCreateLinkDialog } from '../connect-links/create-link-dialog';
import {
  MatExpansionPanel,
  MatExpansionPanelContent,
  MatExpansionPanelHeader,
  MatExpansionPanelTitle,
} from '@angular/material/expansion';
import { MatFormField, MatHint, MatLabel } from '@angular/material/form-field';
import { MatIcon } from '@angular/material/icon';
import { MatInput } from '@angular/material/input';
import { MatProgressSpinner } from '@angular/material/progress-spinner';
import {
  type ConnectionDto,
  type ConnectOutcome,
  REGION_NAMES,
} from '@keeper/contracts';
import { describeApiFailure } from '../core/api';
import { EXTERNAL_NAVIGATION } from '../core/external-navigation';
import { Notifier } from '../core/notifier';
import { exactTime } from '../core/time-format';
import { RelativeTime } from '../ui/relative-time';
import { connectStartUrl } from './connections.api';
import { ConnectionStore } from './connection.store';
import {
  DisconnectDialog,
  type DisconnectDialogData,
} from './disconnect-dialog';
import { ProfileList } from './profile-list';
import { ProfilesRead } from './profiles-read';
import { presentStatus } from './status';
import { StatusChip } from './status-chip';
import { TokenCountdown } from './token-countdown';
import {
  UseFromJobsDialog,
  type UseFromJobsDialogData,
} from './use-from-jobs-dialog';

export const MAX_LABEL_LENGTH = 100;

/** One connection: its token's countdown, its refreshes, its profiles, and what can be done to it. */
@Component({
  selector: 'atk-connection-card',
  imports: [
    MatButton,
    MatExpansionPanel,
    MatExpansionPanelContent,
    MatExpansionPanelHeader,
    MatExpansionPanelTitle,
    MatFormField,
    MatHint,
    MatIcon,
    MatIconButton,
    MatInput,
    MatLabel,
    MatProgressSpinner,
    ProfileList,
    ProfilesRead,
    RelativeTime,
    StatusChip,
    TokenCountdown,
  ],
  templateUrl: './connection-card.html',
  styleUrl: './connection-card.scss',
  host: {
    role: 'article',
    '[attr.aria-labelledby]': 'headingId()',
    '[attr.id]': "'connection-' + connection().id",
    '[class.highlighted]': 'highlight() !== null',
  },
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class ConnectionCard {
  private readonly store = inject(ConnectionStore);
  private readonly notifier = inject(Notifier);
  private readonly dialog = inject(MatDialog);
  private readonly navigate = inject(EXTERNAL_NAVIGATION);
  private readonly injector = inject(Injector);

  readonly connection = input.required<ConnectionDto>();
  /** Set when the admin just came back from Amazon with this connection. */
  readonly highlight = input<Extract<
    ConnectOutcome,
    'connected' | 'reconnected'
  > | null>(null);

  protected readonly maxLabelLength = MAX_LABEL_LENGTH;
  protected readonly headingId = computed(
    () => `connection-label-${this.connection().id}`,
  );
  protected readonly regionName = computed(
    () => REGION_NAMES[this.connection().region] ?? this.connection().region,
  );
  protected readonly status = computed(() =>
    presentStatus(this.connection().status),
  );
  protected readonly refreshing = computed(() =>
    this.store.refreshing().has(this.connection().id),
  );
  protected readonly canRefresh = computed(
    () =>
      this.connection().status === 'active' ||
      this.connection().status === 'degraded',
  );
  protected readonly canReconnect = computed(
    () =>
      this.connection().status === 'needs_reauth' ||
      this.connection().status === 'disconnected',
  );
  /** "3 advertising profiles, 1 lost"; `null` without any profile. */
  protected readonly profilesTitle = computed(() => {
    const { profiles } = this.connection();
    if (!profiles.length) return null;
    const lost = profiles.filter((profile) => profile.lostAt).length;
    const all = `${profiles.length} advertising ${profiles.length === 1 ? 'profile' : 'profiles'}`;
    return lost ? `${all}, ${lost} lost` : all;
  });

  protected readonly editing = signal(false);
  protected readonly draft = signal('');
  protected readonly saving = signal(false);
  protected readonly labelError = signal<string | null>(null);
  private readonly labelInput =
    viewChild<ElementRef<HTMLInputElement>>('labelInput');
  // `read`: on a Material button the reference would be the button component.
  private readonly renameButton = viewChild('renameButton', {
    read: ElementRef<HTMLButtonElement>,
  });

  protected startRename(): void {
    this.draft.set(this.connection().label);
    this.labelError.set(null);
    this.editing.set(true);
    afterNextRender(() => this.labelInput()?.nativeElement.select(), {
      injector: this.injector,
    });
  }

  protected cancelRename(): void {
    this.editing.set(false);
    this.focusRenameButton();
  }

  protected saveLabel(event: Event): void {
    event.preventDefault();
    if (this.saving()) return;
    const label = this.draft().trim();
    if (!label) {
      this.labelError.set('A label needs at least one character.');
      return;
    }
    if (label.length > MAX_LABEL_LENGTH) {
      this.labelError.set(
        `A label has at most ${MAX_LABEL_LENGTH} characters.`,
      );
      return;
    }
    if (label === this.connection().label) {
      this.cancelRename();
      return;
    }
    this.saving.set(true);
    this.store.rename(this.connection().id, label).subscribe({
      next: (renamed) => {
        this.saving.set(false);
        this.editing.set(false);
        this.focusRenameButton();
        this.notifier.info(`Renamed to “${renamed.label}”.`);
      },
      error: (error: unknown) => {
        this.saving.set(false);
        this.labelError.set(describeApiFailure(error).message);
      },
    });
  }

  protected refreshNow(): void {
    const { id, label } = this.connection();
    this.store.refresh(id).subscribe({
      next: ({ connection, durationMs }) => {
        const until = connection.accessTokenExpiresAt
          ? ` The new access token lasts until ${exactTime(connection.accessTokenExpiresAt)}.`
          : '';
        this.notifier.info(`Refreshed “${label}” in ${durationMs} ms.${until}`);
      },
      error: (error: unknown) => {
        const failure = describeApiFailure(error);
        this.notifier.error(
          `Refreshing “${label}” failed: ${failure.message}`,
          failure.correlationId,
        );
      },
    });
  }

  protected reconnect(): void {
    this.navigate(connectStartUrl(this.connection().region));
  }

  protected confirmDisconnect(): void {
    const { id, label } = this.connection();
    this.dialog
      .open<DisconnectDialog, DisconnectDialogData, boolean>(DisconnectDialog, {
        data: { label },
        maxWidth: '480px',
      })
      .afterClosed()
      .subscribe((confirmed) => {
        if (!confirmed) return;
        this.store.disconnect(id).subscribe(() => {
          this.notifier.info(
            `Disconnected “${label}”. Its tokens are erased; its audit trail is kept.`,
          );
        });
      });
  }

  /** A link the account's owner opens to renew this connection's consent (see Connect links). */
  protected sendReconnectLink(): void {
    const { id, label, region } = this.connection();
    openCreateLinkDialog(this.dialog, { reconnect: { id, label, region } });
  }

  protected openUseFromJobs(): void {
    this.dialog.open<UseFromJobsDialog, UseFromJobsDialogData>(
      UseFromJobsDialog,
      {
        data: { connection: this.connection() },
        width: '640px',
        maxWidth: 'calc(100vw - 32px)',
        // Read before acting: screen readers start at the title, Tab reaches the copy buttons.
        autoFocus: 'first-heading',
      },
    );
  }

  private focusRenameButton(): void {
    afterNextRender(() => this.renameButton()?.nativeElement.focus(), {
      injector: this.injector,
    });
  }
}
