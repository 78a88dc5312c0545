import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { MatButton } from '@angular/material/button';
import {
  MAT_DIALOG_DATA,
  MatDialogActions,
  MatDialogClose,
  MatDialogContent,
  MatDialogTitle,
} from '@angular/material/dialog';

export interface DisconnectDialogData {
  label: string;
}

/** Asks before disconnecting, saying what is erased and what is kept. Closes with `true` to go ahead. */
@Component({
  selector: 'atk-disconnect-dialog',
  imports: [
    MatButton,
    MatDialogActions,
    MatDialogClose,
    MatDialogContent,
    MatDialogTitle,
  ],
  template: `
    <h2 mat-dialog-title>Disconnect “{{ data.label }}”?</h2>
    <mat-dialog-content>
      <p>
        Its access token and refresh token are erased. Downstream jobs can no
        longer get an access token for this account, and nothing refreshes it.
      </p>
      <p>
        Its audit trail is kept. To use the account again, reconnect it, which
        asks for Amazon's consent again.
      </p>
    </mat-dialog-content>
    <mat-dialog-actions align="end">
      <button matButton type="button" [mat-dialog-close]="false">Cancel</button>
      <button
        matButton="filled"
        type="button"
        class="danger"
        [mat-dialog-close]="true"
      >
        Disconnect
      </button>
    </mat-dialog-actions>
  `,
  styles: `
    .danger {
      --mat-button-filled-container-color: var(--mat-sys-error);
      --mat-button-filled-label-text-color: var(--mat-sys-on-error);
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class DisconnectDialog {
  protected readonly data = inject<DisconnectDialogData>(MAT_DIALOG_DATA);
}
