import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { MatButton } from '@angular/material/button';
import {
  MAT_DIALOG_DATA,
  MatDialogActions,
  MatDialogClose,
  MatDialogContent,
  MatDialogTitle,
} from '@angular/material/dialog';

export interface RevokeKeyDialogData {
  name: string;
}

/** Asks before revoking a key, saying what stops and what is kept. Closes with `true` to go ahead. */
@Component({
  selector: 'atk-revoke-key-dialog',
  imports: [
    MatButton,
    MatDialogActions,
    MatDialogClose,
    MatDialogContent,
    MatDialogTitle,
  ],
  template: `
    <h2 mat-dialog-title>Revoke “{{ data.name }}”?</h2>
    <mat-dialog-content>
      <p>
        Jobs using this key are refused (401) within a second, on every replica.
        A revoked key cannot be used again: make a new one instead.
      </p>
      <p>The key stays listed as revoked, and its audit trail is kept.</p>
    </mat-dialog-content>
    <mat-dialog-actions align="end">
      <button matButton type="button" [mat-dialog-close]="false">Cancel</button>
      <button
        matButton="filled"
        type="button"
        class="danger"
        [mat-dialog-close]="true"
      >
        Revoke
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
export class RevokeKeyDialog {
  protected readonly data = inject<RevokeKeyDialogData>(MAT_DIALOG_DATA);
}
