import {
  ChangeDetectionStrategy,
  Component,
  inject,
  signal,
} from '@angular/core';
import { MatButton } from '@angular/material/button';
import {
  MAT_DIALOG_DATA,
  MatDialog,
  MatDialogActions,
  MatDialogClose,
  MatDialogContent,
  MatDialogRef,
  MatDialogTitle,
} from '@angular/material/dialog';
import { MatFormField, MatHint, MatLabel } from '@angular/material/form-field';
import { MatIcon } from '@angular/material/icon';
import { MatInput } from '@angular/material/input';
import { MatRadioButton, MatRadioGroup } from '@angular/material/radio';
import {
  CONNECT_LINK_DEFAULT_HOURS,
  CONNECT_LINK_LABEL_MAX,
  CONNECT_LINK_MAX_HOURS,
  REGION_NAMES,
  REGIONS,
  type CreatedConnectLinkDto,
  type Region,
} from '@keeper/contracts';
import { describeApiFailure } from '../core/api';
import { CopyButton } from '../ui/copy-button';
import { ConnectLinksApi } from './connect-links.api';

/** A reconnect link's connection, when the dialog is opened for one. */
export interface CreateLinkDialogData {
  reconnect?: { id: string; label: string; region: Region };
}

/**
 * Makes a link for an account owner: a region, a label, an expiry (1 to 168 hours), and for a
 * reconnect link its connection. Once made, shows the URL once, with a copy button, and closes
 * with it (the page then lists the link) only when the admin says it is copied.
 */
@Component({
  selector: 'atk-create-link-dialog',
  imports: [
    CopyButton,
    MatButton,
    MatDialogActions,
    MatDialogClose,
    MatDialogContent,
    MatDialogTitle,
    MatFormField,
    MatHint,
    MatIcon,
    MatInput,
    MatLabel,
    MatRadioButton,
    MatRadioGroup,
  ],
  template: `
    @if (created(); as made) {
      <h2 mat-dialog-title>Copy the link</h2>
      <mat-dialog-content>
        <p class="once" role="alert">
          <mat-icon aria-hidden="true">warning</mat-icon>
          <span>
            <strong>You will not see this link again.</strong> The keeper stores
            only its hash: copy it now and send it to the account's owner.
          </span>
        </p>
        <div class="copyable">
          <code class="url">{{ made.url }}</code>
          <atk-copy-button [text]="made.url" what="the link" />
        </div>
        <p class="hint">
          It works once, until {{ made.expiresAt }}. The owner needs no keeper
          login: they sign in to Amazon and agree.
        </p>
      </mat-dialog-content>
      <mat-dialog-actions align="end">
        <button
          matButton="filled"
          type="button"
          class="done"
          [mat-dialog-close]="made"
        >
          I have copied it
        </button>
      </mat-dialog-actions>
    } @else {
      <h2 mat-dialog-title>
        {{ data.reconnect ? 'New reconnect link' : 'New connect link' }}
      </h2>
      <form (submit)="create($event)" novalidate>
        <mat-dialog-content>
          @if (data.reconnect; as target) {
            <p class="target">
              Renews “{{ target.label }}” ({{ regionNames[target.region] }}):
              the owner must consent with the same Amazon account.
            </p>
          } @else {
            <mat-radio-group
              class="regions"
              aria-label="Amazon region"
              [value]="region()"
              (change)="region.set($event.value)"
            >
              @for (option of regions; track option) {
                <mat-radio-button [value]="option" [class]="'region-' + option">
                  {{ regionNames[option] }}
                </mat-radio-button>
              }
            </mat-radio-group>
          }
          <mat-form-field appearance="outline" class="field">
            <mat-label>Label (optional)</mat-label>
            <input
              matInput
              #labelInput
              name="label"
              class="label"
              [attr.maxlength]="labelMax"
              [value]="label()"
              (input)="label.set(labelInput.value)"
              aria-describedby="create-link-error"
            />
            <mat-hint>Shown to the owner, e.g. the client's name.</mat-hint>
          </mat-form-field>
          <mat-form-field appearance="outline" class="field">
            <mat-label>Valid for (hours)</mat-label>
            <input
              matInput
              #hoursInput
              type="number"
              name="hours"
              class="hours"
              min="1"
              [attr.max]="maxHours"
              required
              [value]="hours()"
              (input)="hours.set(hoursInput.value)"
              aria-describedby="create-link-error"
            />
            <mat-hint>1 to {{ maxHours }}.</mat-hint>
          </mat-form-field>
          <p id="create-link-error" class="error" aria-live="assertive">
            @if (error(); as message) {
              <mat-icon aria-hidden="true">error</mat-icon>
              <span>{{ message }}</span>
            }
          </p>
        </mat-dialog-content>
        <mat-dialog-actions align="end">
          <button matButton type="button" [mat-dialog-close]="undefined">
            Cancel
          </button>
          <button
            matButton="filled"
            type="submit"
            class="create"
            [disabled]="pending()"
          >
            Create link
          </button>
        </mat-dialog-actions>
      </form>
    }
  `,
  styles: `
    .field {
      width: 100%;
    }
    .regions {
      display: flex;
      flex-wrap: wrap;
      gap: 8px 16px;
      margin: 0 0 8px;
    }
    .hint {
      margin: 4px 0;
      color: var(--mat-sys-on-surface-variant);
      font: var(--mat-sys-body-small);
    }
    .error,
    .once {
      display: flex;
      gap: 8px;
      align-items: flex-start;
      margin: 8px 0 0;
    }
    .error {
      min-height: 1.5em;
      color: var(--mat-sys-error);
    }
    .once {
      margin-top: 0;
      padding: 8px 12px;
      border-radius: var(--mat-sys-corner-small);
      background: var(--mat-sys-tertiary-container);
      color: var(--mat-sys-on-tertiary-container);
    }
    .copyable {
      display: flex;
      align-items: center;
      gap: 8px;
      margin: 16px 0 8px;
    }
    .url {
      flex: 1;
      min-width: 0;
      padding: 8px;
      overflow-wrap: anywhere;
      user-select: all;
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class CreateLinkDialog {
  private readonly api = inject(ConnectLinksApi);
  private readonly dialogRef = inject(MatDialogRef<CreateLinkDialog>);
  protected readonly data =
    inject<CreateLinkDialogData | null>(MAT_DIALOG_DATA, { optional: true }) ??
    {};

  protected readonly regions = REGIONS;
  protected readonly regionNames = REGION_NAMES;
  protected readonly labelMax = CONNECT_LINK_LABEL_MAX;
  protected readonly maxHours = CONNECT_LINK_MAX_HOURS;
  protected readonly region = signal<Region>(
    this.data.reconnect?.region ?? 'na',
  );
  protected readonly label = signal(this.data.reconnect?.label ?? '');
  protected readonly hours = signal(String(CONNECT_LINK_DEFAULT_HOURS));
  protected readonly pending = signal(false);
  protected readonly error = signal<string | null>(null);
  protected readonly created = signal<CreatedConnectLinkDto | null>(null);

  protected create(event: Event): void {
    event.preventDefault();
    if (this.pending()) return;
    const hours = Number(this.hours());
    if (!Number.isInteger(hours) || hours < 1 || hours > this.maxHours) {
      this.error.set(
        `The link must be valid for a whole number of hours, 1 to ${this.maxHours}.`,
      );
      return;
    }
    const label = this.label().trim();
    this.error.set(null);
    this.pending.set(true);
    this.api
      .create({
        region: this.region(),
        expiresInHours: hours,
        ...(label ? { label } : {}),
        ...(this.data.reconnect
          ? { connectionId: this.data.reconnect.id }
          : {}),
      })
      .subscribe({
        next: (link) => {
          this.pending.set(false);
          // While the URL is shown, a click beside the dialog or Escape must not lose it.
          this.dialogRef.disableClose = true;
          this.created.set(link);
        },
        error: (error: unknown) => {
          this.pending.set(false);
          this.error.set(describeApiFailure(error).message);
        },
      });
  }
}

/** Opens the dialog that makes a link (a reconnect link with `data.reconnect`). */
export function openCreateLinkDialog(
  dialog: MatDialog,
  data: CreateLinkDialogData = {},
) {
  return dialog.open<
    CreateLinkDialog,
    CreateLinkDialogData,
    CreatedConnectLinkDto
  >(CreateLinkDialog, {
    data,
    width: '560px',
    maxWidth: 'calc(100vw - 32px)',
  });
}
