import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { MatButton } from '@angular/material/button';
import {
  MAT_DIALOG_DATA,
  MatDialogActions,
  MatDialogClose,
  MatDialogContent,
  MatDialogTitle,
} from '@angular/material/dialog';

export interface RevokeLinkDialogData {
  name: string;
}

/** Asks before revoking a link. Closes with `true` to go ahead. */
@Component({
  selector: 'atk-revoke-link-dialog',
  imports: [
    MatButton,
    MatDialogActions,
    MatDialogClose,
    MatDialogContent,
    MatDialogTitle,
  ],
  template: `
    <h2 mat-dialog-title>Revoke the link “{{ data.name }}”?</h2>
    <mat-dialog-content>
      <p>
        Its page answers “withdrawn” from now on, and a consent started from it
        is refused. A revoked link cannot be used again: make a new one instead.
      </p>
      <p>The link stays listed as revoked, and its audit trail is kept.</p>
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
export class RevokeLinkDialog {
  protected readonly data = inject<RevokeLinkDialogData>(MAT_DIALOG_DATA);
}
