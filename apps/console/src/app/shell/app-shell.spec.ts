import { TestBed } from '@angular/core/testing';
import { MatSidenavHarness } from '@angular/material/sidenav/testing';
import { Router } from '@angular/router';
import {
  readableText,
  renderConsole,
  textOf,
} from '../../testing/render-console';
import { AppShell } from './app-shell';

describe(AppShell.name, () => {
  function navLinks(root: HTMLElement): HTMLAnchorElement[] {
    return Array.from(
      root.querySelectorAll<HTMLAnchorElement>('nav[aria-label="Main"] a'),
    );
  }

  function menuButton(root: HTMLElement): HTMLButtonElement | null {
    return root.querySelector<HTMLButtonElement>(
      'header button[aria-label="Navigation menu"]',
    );
  }

  it('shows the product name with a key icon in the toolbar', async () => {
    const sut = await renderConsole('/connections');

    expect(textOf(sut.root, 'header mat-toolbar .product-name')).toBe(
      'ads-token-keeper',
    );
    expect(textOf(sut.root, 'header mat-toolbar mat-icon')).toBe('key');
  });

  it('draws icons with the self-hosted Material Symbols font', async () => {
    const sut = await renderConsole('/connections');

    const icon = sut.root.querySelector('header mat-icon');
    expect(icon?.classList).toContain('material-symbols-outlined');
    expect(icon?.classList).not.toContain('material-icons');
  });

  it('links to Connections, Service keys, Connect links, Audit and System in the labelled main navigation', async () => {
    const sut = await renderConsole('/connections');

    const links = navLinks(sut.root).map((link) => ({
      label: textOf(link, '[matListItemTitle]'),
      href: link.getAttribute('href'),
    }));
    expect(links).toEqual([
      { label: 'Connections', href: '/connections' },
      { label: 'Service keys', href: '/service-keys' },
      { label: 'Connect links', href: '/connect-links' },
      { label: 'Audit', href: '/audit' },
      { label: 'System', href: '/system' },
    ]);
  });

  it('marks the link of the page being shown as the current one', async () => {
    const sut = await renderConsole('/audit');

    const current = navLinks(sut.root).filter(
      (link) => link.getAttribute('aria-current') === 'page',
    );
    expect(current.map((link) => link.getAttribute('href'))).toEqual([
      '/audit',
    ]);
    expect(current[0].classList).toContain('mdc-list-item--activated');
  });

  it('puts the page in the main landmark, which the skip link focuses', async () => {
    const sut = await renderConsole('/connections');
    const main = sut.root.querySelector<HTMLElement>('main');
    const skipLink = sut.root.querySelector<HTMLAnchorElement>('a.skip-link');

    expect(textOf(sut.root, 'main h1')).toBe('Connections');
    expect(skipLink?.textContent?.trim()).toBe('Skip to main content');

    skipLink?.click();

    expect(document.activeElement).toBe(main);
  });

  describe('on a wide screen', () => {
    it('keeps the navigation open beside the page, without a menu button', async () => {
      const sut = await renderConsole('/connections', { narrow: false });
      const sidenav = await sut.loader.getHarness(MatSidenavHarness);

      expect(await sidenav.getMode()).toBe('side');
      expect(await sidenav.isOpen()).toBe(true);
      expect(menuButton(sut.root)).toBeNull();
    });
  });

  describe("on a phone's width", () => {
    it('hides the navigation until the menu button opens it, and closes it on a second press', async () => {
      const sut = await renderConsole('/connections', { narrow: true });
      const sidenav = await sut.loader.getHarness(MatSidenavHarness);
      const button = menuButton(sut.root);

      expect(await sidenav.getMode()).toBe('over');
      expect(await sidenav.isOpen()).toBe(false);
      expect(button?.getAttribute('aria-expanded')).toBe('false');
      expect(button?.getAttribute('aria-controls')).toBe('app-navigation');

      button?.click();
      await sut.settle();

      expect(await sidenav.isOpen()).toBe(true);
      expect(button?.getAttribute('aria-expanded')).toBe('true');

      button?.click();
      await sut.settle();

      expect(await sidenav.isOpen()).toBe(false);
      expect(button?.getAttribute('aria-expanded')).toBe('false');
    });

    it('closes the navigation on Escape and tells the menu button', async () => {
      const sut = await renderConsole('/connections', { narrow: true });
      const sidenav = await sut.loader.getHarness(MatSidenavHarness);
      menuButton(sut.root)?.click();
      await sut.settle();

      sut.root.querySelector('mat-sidenav')?.dispatchEvent(
        new KeyboardEvent('keydown', {
          key: 'Escape',
          keyCode: 27,
          bubbles: true,
        }),
      );
      await sut.settle();

      expect(await sidenav.isOpen()).toBe(false);
      expect(menuButton(sut.root)?.getAttribute('aria-expanded')).toBe('false');
    });

    it('closes the navigation once a page is chosen in it', async () => {
      const sut = await renderConsole('/connections', { narrow: true });
      const sidenav = await sut.loader.getHarness(MatSidenavHarness);
      menuButton(sut.root)?.click();
      await sut.settle();

      navLinks(sut.root)[4].click();
      await sut.settle();

      expect(await sidenav.isOpen()).toBe(false);
      expect(textOf(sut.root, 'main h1')).toBe('System');
    });

    it('goes back to the open side navigation when the window widens', async () => {
      const sut = await renderConsole('/connections', { narrow: true });
      const sidenav = await sut.loader.getHarness(MatSidenavHarness);

      await sut.setNarrow(false);

      expect(await sidenav.getMode()).toBe('side');
      expect(await sidenav.isOpen()).toBe(true);
      expect(menuButton(sut.root)).toBeNull();
    });

    it('starts closed again after the window widens and narrows with the menu open', async () => {
      const sut = await renderConsole('/connections', { narrow: true });
      const sidenav = await sut.loader.getHarness(MatSidenavHarness);
      menuButton(sut.root)?.click();
      await sut.settle();

      await sut.setNarrow(false);
      await sut.setNarrow(true);

      expect(await sidenav.getMode()).toBe('over');
      expect(await sidenav.isOpen()).toBe(false);
    });
  });

  describe('live updates', () => {
    it('opens the events stream and says whether updates are live', async () => {
      const sut = await renderConsole('/connections');
      const status = () =>
        readableText(sut.root, 'header .live-status[role="status"]');

      expect(sut.eventSources.latest.url).toBe('/api/v1/events');
      expect(status()).toBe('Connecting');

      sut.eventSources.latest.open();
      await sut.settle();
      expect(status()).toBe('Live');

      sut.eventSources.latest.fail();
      await sut.settle();
      expect(status()).toBe('Reconnecting; checking every 15 s');
    });
  });

  describe('logging out', () => {
    it('ends the session, closes the events stream and shows the login page', async () => {
      const sut = await renderConsole('/audit');
      const logout = sut.root.querySelector<HTMLButtonElement>(
        'header button.logout',
      );
      expect(logout?.textContent?.trim()).toBe('logout Log out');

      logout?.click();
      await sut.settle();

      expect(sut.http.expectOne('/api/v1/session').request.method).toBe(
        'DELETE',
      );
      expect(TestBed.inject(Router).url).toBe('/login');
      expect(sut.eventSources.latest.closed).toBe(true);
      expect(textOf(sut.root, 'h1')).toBe('Log in to ads-token-keeper');
    });

    it("names the icon-only logout button on a phone's width", async () => {
      const sut = await renderConsole('/connections', { narrow: true });

      const logout = sut.root.querySelector<HTMLButtonElement>(
        'header button.logout',
      );
      expect(logout?.getAttribute('aria-label')).toBe('Log out');
      expect(logout?.textContent?.trim()).toBe('logout');
    });
  });
});
