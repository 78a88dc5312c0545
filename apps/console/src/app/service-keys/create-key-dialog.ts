import {
  ChangeDetectionStrategy,
  Component,
  computed,
  inject,
  signal,
} from '@angular/core';
import { MatButton } from '@angular/material/button';
import { MatCheckbox } from '@angular/material/checkbox';
import {
  MAT_DIALOG_DATA,
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
  SERVICE_KEY_MAX_CONNECTIONS,
  SERVICE_KEY_NAME_MAX,
  type CreatedServiceKeyDto,
} from '@keeper/contracts';
import { describeApiFailure } from '../core/api';
import { CopyButton } from '../ui/copy-button';
import { ConnectionChoice, ServiceKeysApi } from './service-keys.api';

export interface CreateKeyDialogData {
  connections: ConnectionChoice[];
}

/** How many matching connections the picker lists at once; the search narrows the rest. */
export const PICKER_SHOWN_MAX = 50;

/**
 * Makes a key for jobs: a name, and every connection or a chosen few (a search over the
 * connections' names and ids, and a checkbox each). Once made, shows the key once, with a copy
 * button, and closes with it (the page then lists it) only when the admin says it is copied.
 */
@Component({
  selector: 'atk-create-key-dialog',
  imports: [
    CopyButton,
    MatButton,
    MatCheckbox,
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
      <h2 mat-dialog-title>Copy the key for “{{ made.name }}”</h2>
      <mat-dialog-content>
        <p class="once" role="alert">
          <mat-icon aria-hidden="true">warning</mat-icon>
          <span>
            <strong>You will not see this key again.</strong> The keeper stores
            only its hash: copy it now into your job's secrets.
          </span>
        </p>
        <div class="copyable">
          <code class="key">{{ made.key }}</code>
          <atk-copy-button [text]="made.key" what="the key" />
        </div>
        <p class="hint">
          Send it as <code>Authorization: Bearer &lt;key&gt;</code>.
          {{ scopeSentence(made) }}
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
      <h2 mat-dialog-title>New key for jobs</h2>
      <form (submit)="create($event)" novalidate>
        <mat-dialog-content>
          <mat-form-field appearance="outline" class="field">
            <mat-label>Name</mat-label>
            <input
              matInput
              #nameInput
              name="name"
              class="name"
              required
              [attr.maxlength]="nameMax"
              [value]="name()"
              (input)="name.set(nameInput.value)"
              aria-describedby="create-key-error"
            />
            <mat-hint>What the job is, e.g. “Nightly reports”.</mat-hint>
          </mat-form-field>

          <mat-radio-group
            class="scope"
            aria-label="Connections the key may read"
            [value]="scope()"
            (change)="scope.set($event.value)"
          >
            <mat-radio-button value="all" class="scope-all"
              >Every connection</mat-radio-button
            >
            <mat-radio-button value="chosen" class="scope-chosen"
              >Chosen connections</mat-radio-button
            >
          </mat-radio-group>

          @if (scope() === 'chosen') {
            <fieldset class="picker">
              <legend>Connections ({{ chosen().size }} chosen)</legend>
              <mat-form-field
                appearance="outline"
                class="field"
                subscriptSizing="dynamic"
              >
                <mat-label>Search by name or id</mat-label>
                <input
                  matInput
                  #searchInput
                  type="search"
                  class="search"
                  [value]="search()"
                  (input)="search.set(searchInput.value)"
                  aria-controls="create-key-choices"
                />
              </mat-form-field>
              <p class="hint" aria-live="polite">{{ matchSentence() }}</p>
              <ul id="create-key-choices" class="choices">
                @for (connection of shown(); track connection.id) {
                  <li>
                    <mat-checkbox
                      class="choice"
                      [checked]="chosen().has(connection.id)"
                      (change)="toggle(connection.id, $event.checked)"
                    >
                      {{ connection.label }}
                      <span class="choice-meta"
                        >{{ connection.region.toUpperCase() }} ·
                        {{ connection.id }}</span
                      >
                    </mat-checkbox>
                  </li>
                }
              </ul>
            </fieldset>
          }
          <p id="create-key-error" class="error" aria-live="assertive">
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
            Create key
          </button>
        </mat-dialog-actions>
      </form>
    }
  `,
  styles: `
    .field {
      width: 100%;
    }

    .scope {
      display: flex;
      flex-wrap: wrap;
      gap: 8px 16px;
      margin: 8px 0;
    }

    .picker {
      margin: 8px 0 0;
      padding: 8px 12px;
      border: 1px solid var(--mat-sys-outline-variant);
      border-radius: var(--mat-sys-corner-small);
    }

    .choices {
      max-height: 40vh;
      margin: 0;
      padding: 0;
      overflow-y: auto;
      list-style: none;
    }

    .choice-meta,
    .hint {
      color: var(--mat-sys-on-surface-variant);
      font: var(--mat-sys-body-small);
    }

    .choice-meta {
      display: block;
      overflow-wrap: anywhere;
    }

    .hint {
      margin: 4px 0;
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

    .key {
      flex: 1;
      min-width: 0;
      padding: 8px;
      overflow-wrap: anywhere;
      user-select: all;
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class CreateKeyDialog {
  private readonly api = inject(ServiceKeysApi);
  private readonly dialogRef = inject(MatDialogRef<CreateKeyDialog>);
  protected readonly connections =
    inject<CreateKeyDialogData>(MAT_DIALOG_DATA).connections;
  protected readonly nameMax = SERVICE_KEY_NAME_MAX;

  protected readonly name = signal('');
  protected readonly scope = signal<'all' | 'chosen'>('all');
  protected readonly search = signal('');
  protected readonly chosen = signal<ReadonlySet<string>>(new Set());
  protected readonly pending = signal(false);
  protected readonly error = signal<string | null>(null);
  protected readonly created = signal<CreatedServiceKeyDto | null>(null);

  private readonly matching = computed(() => {
    const words = this.search().trim().toLowerCase();
    return words
      ? this.connections.filter(
          (connection) =>
            connection.label.toLowerCase().includes(words) ||
            connection.id.toLowerCase().includes(words),
        )
      : this.connections;
  });
  protected readonly shown = computed(() =>
    this.matching().slice(0, PICKER_SHOWN_MAX),
  );
  protected readonly matchSentence = computed(() => {
    const matching = this.matching().length;
    if (this.connections.length === 0) return 'There is no connection yet.';
    if (matching === 0) return 'No connection matches.';
    return matching > PICKER_SHOWN_MAX
      ? `${PICKER_SHOWN_MAX} of ${matching} matching connections shown: search to narrow.`
      : `${matching} ${matching === 1 ? 'connection' : 'connections'}.`;
  });

  protected toggle(id: string, checked: boolean): void {
    const next = new Set(this.chosen());
    if (checked) next.add(id);
    else next.delete(id);
    this.chosen.set(next);
  }

  protected scopeSentence(key: CreatedServiceKeyDto): string {
    if (key.connectionIds === null) return 'It may read every connection.';
    const count = key.connectionIds.length;
    return `It may read ${count} ${count === 1 ? 'connection' : 'connections'}; any other answers 404, as if it did not exist.`;
  }

  protected create(event: Event): void {
    event.preventDefault();
    const name = this.name().trim();
    if (!name) {
      this.error.set('Give the key a name.');
      return;
    }
    const chosen = [...this.chosen()];
    if (this.scope() === 'chosen' && chosen.length === 0) {
      this.error.set('Choose at least one connection, or every connection.');
      return;
    }
    if (chosen.length > SERVICE_KEY_MAX_CONNECTIONS) {
      this.error.set(
        `A key may be limited to at most ${SERVICE_KEY_MAX_CONNECTIONS} connections.`,
      );
      return;
    }
    this.error.set(null);
    this.pending.set(true);
    this.api
      .create({
        name,
        ...(this.scope() === 'chosen' ? { connectionIds: chosen } : {}),
      })
      .subscribe({
        next: (key) => {
          this.pending.set(false);
          // While the key is shown, a click beside the dialog or Escape must not lose it.
          this.dialogRef.disableClose = true;
          this.created.set(key);
        },
        error: (error: unknown) => {
          this.pending.set(false);
          this.error.set(describeApiFailure(error).message);
        },
      });
  }
}
