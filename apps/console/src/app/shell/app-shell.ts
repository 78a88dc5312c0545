import { BreakpointObserver } from '@angular/cdk/layout';
import {
  ChangeDetectionStrategy,
  Component,
  computed,
  DestroyRef,
  ElementRef,
  inject,
  linkedSignal,
  viewChild,
} from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { MatButton, MatIconButton } from '@angular/material/button';
import { MatIcon } from '@angular/material/icon';
import {
  MatListItem,
  MatListItemIcon,
  MatListItemTitle,
  MatNavList,
} from '@angular/material/list';
import {
  MatSidenav,
  MatSidenavContainer,
  MatSidenavContent,
} from '@angular/material/sidenav';
import { MatToolbar } from '@angular/material/toolbar';
import { RouterLink, RouterLinkActive, RouterOutlet } from '@angular/router';
import { map } from 'rxjs';
import { EventsService, LIVE_EVENTS_TIMING } from '../core/events.service';
import { SessionService } from '../session/session.service';
import { NAV_LINKS } from './nav-links';
import { PRODUCT_NAME } from './product';

/**
 * Material 3's compact and medium window classes (phones, small tablets): there the navigation
 * is a modal drawer behind a menu button; on wider windows it stays open beside the page.
 */
export const NARROW_LAYOUT_QUERY = '(max-width: 839.98px)';

/**
 * Toolbar, side navigation and the page outlet around every console page. While it is shown
 * the admin is logged in, so it keeps the live events stream open.
 */
@Component({
  selector: 'atk-app-shell',
  imports: [
    MatButton,
    MatIcon,
    MatIconButton,
    MatListItem,
    MatListItemIcon,
    MatListItemTitle,
    MatNavList,
    MatSidenav,
    MatSidenavContainer,
    MatSidenavContent,
    MatToolbar,
    RouterLink,
    RouterLinkActive,
    RouterOutlet,
  ],
  templateUrl: './app-shell.html',
  styleUrl: './app-shell.scss',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class AppShell {
  protected readonly productName = PRODUCT_NAME;
  protected readonly navLinks = NAV_LINKS;

  private readonly session = inject(SessionService);
  private readonly events = inject(EventsService);
  protected readonly liveState = this.events.state;
  protected readonly pollSeconds =
    inject(LIVE_EVENTS_TIMING).pollIntervalMs / 1000;

  protected readonly isNarrow = toSignal(
    inject(BreakpointObserver)
      .observe(NARROW_LAYOUT_QUERY)
      .pipe(map((state) => state.matches)),
    { initialValue: false },
  );

  /**
   * Whether the modal drawer is open: only the menu button and the links open or close it, and
   * a layout change closes it. The drawer closing itself (Escape, a click on the backdrop) is
   * reported through `closedStart`; its `openedChange` is not used, because it arrives after
   * the animation and, fed back into `[opened]`, a late `true` would reopen a drawer the admin
   * just closed.
   */
  protected readonly menuOpen = linkedSignal({
    source: this.isNarrow,
    computation: () => false,
  });

  protected readonly sidenavOpened = computed(
    () => !this.isNarrow() || this.menuOpen(),
  );

  private readonly mainContent =
    viewChild.required<ElementRef<HTMLElement>>('mainContent');

  constructor() {
    this.events.start();
    inject(DestroyRef).onDestroy(() => this.events.stop());
  }

  protected logOut(): void {
    this.session.logout();
  }

  protected toggleMenu(): void {
    this.menuOpen.update((open) => !open);
  }

  protected closeMenu(): void {
    this.menuOpen.set(false);
  }

  /**
   * A plain `#main-content` href would resolve against `<base href="/">` and leave the page, so
   * the skip link moves focus itself.
   */
  protected skipToMainContent(event: Event): void {
    event.preventDefault();
    this.mainContent().nativeElement.focus();
  }
}
