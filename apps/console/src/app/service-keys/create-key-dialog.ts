import {
  ChangeDetectionStrategy,
  Component,
  computed,
  DestroyRef,
  inject,
  signal,
} from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { MatButton } from '@angular/material/button';
import { MatCheckbox } from '@angular/material/checkbox';
import {
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
import {
  catchError,
  debounceTime,
  distinctUntilChanged,
  map,
  of,
  startWith,
  Subject,
  switchMap,
} from 'rxjs';
import { ConnectionLabels } from '../connections/connection-labels';
import { describeApiFailure } from '../core/api';
import { CopyButton } from '../ui/copy-button';
import { ConnectionChoice, ServiceKeysApi } from './service-keys.api';

/** How long the picker waits after the last key press before it asks the API. */
export const PICKER_SEARCH_DEBOUNCE_MS = 250;

/** What the picker's search answered: the matches, or why there are none to show. */
type SearchResult =
  | { q: string; choices: ConnectionChoice[]; more: boolean }
  | { q: string; failed: true };

/**
 * Makes a key for jobs: a name, and every connection or a chosen few (the API's search over the
 * connections, PICKER_SHOWN_MAX matches at a time, and a checkbox each; the chosen ones stay
 * chosen, with their labels, whatever the search). Once made, shows the key once, with a copy
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
            (change)="setScope($event.value)"
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
                <mat-label>Search by name, account or profile</mat-label>
                <input
                  matInput
                  #searchInput
                  type="search"
                  class="search"
                  [value]="search()"
                  (input)="onSearch(searchInput.value)"
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
                      (change)="toggle(connection, $event.checked)"
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
  private readonly labels = inject(ConnectionLabels);
  private readonly dialogRef = inject(MatDialogRef<CreateKeyDialog>);
  protected readonly nameMax = SERVICE_KEY_NAME_MAX;

  protected readonly name = signal('');
  protected readonly scope = signal<'all' | 'chosen'>('all');
  protected readonly search = signal('');
  /** The chosen connections, with what the list shows of them, whatever the search. */
  protected readonly chosen = signal<ReadonlyMap<string, ConnectionChoice>>(
    new Map(),
  );
  protected readonly pending = signal(false);
  protected readonly error = signal<string | null>(null);
  protected readonly created = signal<CreatedServiceKeyDto | null>(null);

  /** The latest answer of the search; `null` until the first one. */
  private readonly result = signal<SearchResult | null>(null);
  private readonly searches = new Subject<string>();
  private readonly destroyRef = inject(DestroyRef);
  private searchStarted = false;

  /** The chosen ones the search did not answer first (still chosen), then the matches. */
  protected readonly shown = computed(() => {
    const result = this.result();
    const matches = result && 'choices' in result ? result.choices : [];
    const matchIds = new Set(matches.map((connection) => connection.id));
    const others = [...this.chosen().values()].filter(
      (connection) => !matchIds.has(connection.id),
    );
    return [...others, ...matches];
  });
  protected readonly matchSentence = computed(() => {
    const result = this.result();
    if (!result) return 'Searching…';
    if ('failed' in result) return 'Could not search the connections.';
    const matching = result.choices.length;
    if (matching === 0) {
      return result.q
        ? 'No connection matches.'
        : 'There is no connection yet.';
    }
    if (result.more) {
      return `The first ${matching} matching connections shown: search to narrow.`;
    }
    return `${matching} ${matching === 1 ? 'connection' : 'connections'}.`;
  });

  /** The search starts when the picker first shows: with the first page, at once. */
  protected setScope(scope: 'all' | 'chosen'): void {
    this.scope.set(scope);
    if (scope === 'chosen' && !this.searchStarted) {
      this.searchStarted = true;
      this.startSearching();
    }
  }

  private startSearching(): void {
    this.searches
      .pipe(
        debounceTime(PICKER_SEARCH_DEBOUNCE_MS),
        map((q) => q.trim()),
        startWith(''),
        distinctUntilChanged(),
        switchMap((q) =>
          this.api.searchConnections(q).pipe(
            map(({ choices, more }): SearchResult => ({ q, choices, more })),
            catchError(() => of<SearchResult>({ q, failed: true })),
          ),
        ),
        takeUntilDestroyed(this.destroyRef),
      )
      .subscribe((result) => {
        if ('choices' in result) {
          for (const { id, label } of result.choices) {
            this.labels.remember(id, label);
          }
        }
        this.result.set(result);
      });
  }

  protected onSearch(text: string): void {
    this.search.set(text);
    this.searches.next(text);
  }

  protected toggle(connection: ConnectionChoice, checked: boolean): void {
    const next = new Map(this.chosen());
    if (checked) next.set(connection.id, connection);
    else next.delete(connection.id);
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
    const chosen = [...this.chosen().keys()];
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
