import {
  ChangeDetectionStrategy,
  Component,
  effect,
  inject,
  input,
  signal,
  untracked,
} from '@angular/core';
import { MatButton } from '@angular/material/button';
import { MatIcon } from '@angular/material/icon';
import { ActivatedRoute, Router, RouterLink } from '@angular/router';
import type { ConnectOutcome } from '@keeper/contracts';
import { Notifier } from '../core/notifier';
import { EmptyState } from '../ui/empty-state';
import { PageHeader } from '../ui/page-header';
import { connectOutcomeMessage, isConnectOutcome } from './connect-outcome';
import { ConnectionCard } from './connection-card';
import { ConnectionStore } from './connection.store';

type Highlight = Extract<ConnectOutcome, 'connected' | 'reconnected'>;

/**
 * One connection (`/connections/:id`): its countdown, refreshes, profiles, and the actions on
 * it, kept current by the live events. Where the admin lands back from Amazon.
 */
@Component({
  selector: 'atk-connection-page',
  imports: [
    ConnectionCard,
    EmptyState,
    MatButton,
    MatIcon,
    PageHeader,
    RouterLink,
  ],
  providers: [ConnectionStore],
  template: `
    <a class="back" routerLink="/connections">
      <mat-icon aria-hidden="true">arrow_back</mat-icon>
      All connections
    </a>
    <atk-page-header heading="Connection" />

    @if (removed()) {
      <p class="removed" role="status">
        This connection was removed; what is shown is how it was last.
      </p>
    }
    @if (connection(); as connection) {
      <atk-connection-card
        class="card"
        [connection]="connection"
        [highlight]="highlighted()"
      />
    } @else if (loadFailure(); as failure) {
      <atk-empty-state
        icon="cloud_off"
        [heading]="
          failure.status === 404
            ? 'No such connection'
            : 'The connection did not load'
        "
      >
        <p class="failure">{{ failure.message }}</p>
        @if (failure.correlationId) {
          <p>
            Correlation id <code>{{ failure.correlationId }}</code>
          </p>
        }
        <p class="first-step">
          @if (failure.status !== 404) {
            <button matButton="tonal" type="button" (click)="retry()">
              <mat-icon>refresh</mat-icon>
              Try again
            </button>
          }
          <a matButton routerLink="/connections">Back to the connections</a>
        </p>
      </atk-empty-state>
    } @else {
      <p class="visually-hidden" role="status">Loading the connection…</p>
      <div class="skeleton" aria-hidden="true">
        <div class="bone title"></div>
        <div class="bone chip"></div>
        <div class="bone line"></div>
        <div class="bone bar"></div>
      </div>
    }
  `,
  styles: `
    :host {
      display: block;
      max-width: 760px;
    }

    .back {
      display: inline-flex;
      align-items: center;
      gap: 4px;
      margin-bottom: 8px;
      font: var(--mat-sys-label-large);

      mat-icon {
        width: 18px;
        height: 18px;
        font-size: 18px;
      }
    }

    .removed {
      margin: 0 0 16px;
      color: var(--mat-sys-error);
    }

    .card {
      display: flex;
    }

    .first-step {
      display: flex;
      flex-wrap: wrap;
      justify-content: center;
      gap: 8px;
      margin-top: 16px;
    }

    .skeleton {
      display: flex;
      flex-direction: column;
      gap: 12px;
      padding: 16px;
      border-radius: var(--mat-sys-corner-large);
      background: var(--mat-sys-surface-container-low);
    }

    .bone {
      height: 16px;
      border-radius: var(--mat-sys-corner-small);
      background: var(--mat-sys-surface-container-highest);
    }

    .title {
      width: 60%;
      height: 24px;
    }

    .chip {
      width: 96px;
      height: 28px;
    }

    .bar {
      height: 4px;
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class ConnectionPage {
  private readonly store = inject(ConnectionStore);
  private readonly notifier = inject(Notifier);
  private readonly router = inject(Router);
  private readonly route = inject(ActivatedRoute);

  /** The route's `:id`. */
  readonly id = input.required<string>();

  protected readonly connection = this.store.connection;
  protected readonly loadFailure = this.store.loadFailure;
  protected readonly removed = this.store.removed;
  protected readonly highlighted = signal<Highlight | null>(null);

  constructor() {
    effect(() => {
      const id = this.id();
      untracked(() => this.store.load(id));
    });

    // Back from Amazon: `?connect=connected|reconnected` (see `connectOutcomeRedirect`). Said
    // once the connection is in, so the toast can name it.
    const outcome = this.route.snapshot.queryParamMap.get('connect');
    if (!isConnectOutcome(outcome)) return;
    let told = false;
    effect(() => {
      const connection = this.connection();
      if (told || (connection === undefined && !this.loadFailure())) return;
      told = true;
      untracked(() => {
        const message = connectOutcomeMessage(outcome, {
          label: connection?.label,
        });
        if (message.failed) this.notifier.error(message.text);
        else this.notifier.info(message.text);
        if (
          connection &&
          (outcome === 'connected' || outcome === 'reconnected')
        ) {
          this.highlighted.set(outcome);
        }
        // A reload or a bookmark must not say it again.
        void this.router.navigate([], {
          relativeTo: this.route,
          queryParams: {},
          replaceUrl: true,
        });
      });
    });
  }

  protected retry(): void {
    this.store.reload();
  }
}
