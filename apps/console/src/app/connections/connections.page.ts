import {
  afterNextRender,
  ChangeDetectionStrategy,
  Component,
  effect,
  inject,
  Injector,
  signal,
  untracked,
} from '@angular/core';
import { MatButton } from '@angular/material/button';
import { MatIcon } from '@angular/material/icon';
import { ActivatedRoute, Router } from '@angular/router';
import type { ConnectionDto, ConnectOutcome } from '@keeper/contracts';
import { Notifier } from '../core/notifier';
import { EmptyState } from '../ui/empty-state';
import { PageHeader } from '../ui/page-header';
import { ConnectMenu } from './connect-menu';
import { connectOutcomeMessage, isConnectOutcome } from './connect-outcome';
import { ConnectionCard } from './connection-card';
import { ConnectionsStore } from './connections.store';

type Highlight = {
  id: string;
  outcome: Extract<ConnectOutcome, 'connected' | 'reconnected'>;
};

/** The Amazon Ads accounts whose tokens the service keeps fresh. */
@Component({
  selector: 'atk-connections-page',
  imports: [
    ConnectionCard,
    ConnectMenu,
    EmptyState,
    MatButton,
    MatIcon,
    PageHeader,
  ],
  providers: [ConnectionsStore],
  template: `
    <atk-page-header heading="Connections">
      @if (connections()?.length) {
        <atk-connect-menu />
      }
    </atk-page-header>

    @if (connections(); as list) {
      @if (list.length) {
        <section class="grid" aria-label="Connections">
          @for (connection of list; track connection.id) {
            <atk-connection-card
              [connection]="connection"
              [highlight]="highlightOf(connection.id)"
            />
          }
        </section>
      } @else {
        <atk-empty-state
          icon="link_off"
          heading="No Amazon accounts connected yet"
        >
          <p>
            Each Amazon Ads account you connect will be listed here with its
            region, its profiles and when its access token is refreshed next.
          </p>
          <p>Connect an account to start keeping its tokens fresh.</p>
          <p class="first-step"><atk-connect-menu /></p>
        </atk-empty-state>
      }
    } @else if (loadFailure(); as failure) {
      <atk-empty-state icon="cloud_off" heading="The connections did not load">
        <p class="failure">{{ failure.message }}</p>
        @if (failure.correlationId) {
          <p>
            Correlation id <code>{{ failure.correlationId }}</code>
          </p>
        }
        <p class="first-step">
          <button matButton="tonal" type="button" (click)="retry()">
            <mat-icon>refresh</mat-icon>
            Try again
          </button>
        </p>
      </atk-empty-state>
    } @else {
      <p class="visually-hidden" role="status">Loading the connections…</p>
      <div class="grid" aria-hidden="true">
        @for (placeholder of skeletons; track placeholder) {
          <div class="skeleton">
            <div class="bone title"></div>
            <div class="bone chip"></div>
            <div class="bone line"></div>
            <div class="bone bar"></div>
            <div class="bone line short"></div>
          </div>
        }
      </div>
    }
  `,
  styles: `
    .grid {
      display: grid;
      grid-template-columns: repeat(auto-fill, minmax(min(100%, 360px), 1fr));
      gap: 16px;
    }

    .first-step {
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
      animation: pulse 1.5s ease-in-out infinite;
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

    .short {
      width: 40%;
    }

    @keyframes pulse {
      50% {
        opacity: 0.5;
      }
    }

    @media (prefers-reduced-motion: reduce) {
      .bone {
        animation: none;
      }
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class ConnectionsPage {
  private readonly store = inject(ConnectionsStore);
  private readonly notifier = inject(Notifier);
  private readonly router = inject(Router);
  private readonly route = inject(ActivatedRoute);
  private readonly injector = inject(Injector);

  protected readonly connections = this.store.connections;
  protected readonly loadFailure = this.store.loadFailure;
  protected readonly highlighted = signal<Highlight | null>(null);
  protected readonly skeletons = [1, 2, 3];

  constructor() {
    // Back from Amazon: `?connect=<outcome>&connectionId=…&reason=…`. Said once the list is
    // in, so the toast can name the connection.
    const query = this.route.snapshot.queryParamMap;
    const outcome = query.get('connect');
    if (!isConnectOutcome(outcome)) return;
    const connectionId = query.get('connectionId');
    const reason = query.get('reason');
    let told = false;
    effect(() => {
      const list = this.connections();
      if (told || (list === undefined && !this.loadFailure())) return;
      told = true;
      untracked(() =>
        this.tellOutcome(outcome, connectionId, reason, list ?? []),
      );
    });
  }

  protected highlightOf(id: string): Highlight['outcome'] | null {
    const highlighted = this.highlighted();
    return highlighted?.id === id ? highlighted.outcome : null;
  }

  protected retry(): void {
    this.store.reload();
  }

  private tellOutcome(
    outcome: ConnectOutcome,
    connectionId: string | null,
    reason: string | null,
    list: readonly ConnectionDto[],
  ): void {
    const connection = list.find((known) => known.id === connectionId);
    const message = connectOutcomeMessage(outcome, {
      label: connection?.label,
      reason,
    });
    if (message.failed) this.notifier.error(message.text);
    else this.notifier.info(message.text);

    if (connection && (outcome === 'connected' || outcome === 'reconnected')) {
      this.highlighted.set({ id: connection.id, outcome });
      afterNextRender(
        () =>
          document
            .getElementById(`connection-${connection.id}`)
            ?.scrollIntoView?.({ block: 'center', behavior: 'smooth' }),
        { injector: this.injector },
      );
    }
    // A reload or a bookmark must not say it again.
    void this.router.navigate([], {
      relativeTo: this.route,
      queryParams: {},
      replaceUrl: true,
    });
  }
}
