import { TestBed } from '@angular/core/testing';
import { Title } from '@angular/platform-browser';
import { Router } from '@angular/router';
import { renderConsole, textOf } from '../testing/render-console';
import { appRoutes } from './app.routes';

describe('appRoutes', () => {
  it('sends / to the Connections page', async () => {
    const sut = await renderConsole('/');

    expect(TestBed.inject(Router).url).toBe('/connections');
    expect(textOf(sut.root, 'main h1')).toBe('Connections');
  });

  it.each([
    {
      url: '/connections',
      title: 'Connections',
      emptyHeading: 'No Amazon accounts connected yet',
      explains: 'Connect an account to start keeping its tokens fresh.',
    },
    {
      url: '/audit',
      title: 'Audit',
      emptyHeading: 'No audit events yet',
      explains:
        'Every connect, refresh, failure and key rotation will be listed here',
    },
    {
      url: '/system',
      title: 'System',
      emptyHeading: 'No system status yet',
      explains:
        "Readiness checks, key ids and the refresh scheduler's state will appear here.",
    },
  ])(
    'shows $title with its empty state and tab title at $url',
    async ({ url, title, emptyHeading, explains }) => {
      const sut = await renderConsole(url);

      expect(textOf(sut.root, 'main h1')).toBe(title);
      expect(textOf(sut.root, 'main atk-empty-state h2')).toBe(emptyHeading);
      expect(textOf(sut.root, 'main atk-empty-state')).toContain(explains);
      expect(
        sut.root.querySelector('main atk-empty-state mat-icon'),
      ).not.toBeNull();
      expect(TestBed.inject(Title).getTitle()).toBe(
        `${title} · ads-token-keeper`,
      );
    },
  );

  it('reaches each page from the navigation', async () => {
    const sut = await renderConsole('/connections');
    const router = TestBed.inject(Router);

    for (const [href, heading] of [
      ['/audit', 'Audit'],
      ['/system', 'System'],
      ['/connections', 'Connections'],
    ]) {
      sut.root
        .querySelector<HTMLAnchorElement>(`nav a[href="${href}"]`)
        ?.click();
      await sut.settle();

      expect(router.url).toBe(href);
      expect(textOf(sut.root, 'main h1')).toBe(heading);
    }
  });

  it('links from the Audit empty state to the Connections page', async () => {
    const sut = await renderConsole('/audit');

    sut.root
      .querySelector<HTMLAnchorElement>('main atk-empty-state a')
      ?.click();
    await sut.settle();

    expect(TestBed.inject(Router).url).toBe('/connections');
  });

  it('answers an unknown address with a not-found page inside the shell', async () => {
    const sut = await renderConsole('/no/such/page');

    expect(textOf(sut.root, 'main h1')).toBe('Page not found');
    expect(textOf(sut.root, 'main atk-empty-state code')).toBe('/no/such/page');
    expect(
      sut.root.querySelector('main a[href="/connections"]'),
    ).not.toBeNull();
    expect(sut.root.querySelectorAll('nav[aria-label="Main"] a')).toHaveLength(
      3,
    );
    expect(TestBed.inject(Title).getTitle()).toBe(
      'Page not found · ads-token-keeper',
    );
  });

  it('loads every page lazily', () => {
    const shell = appRoutes[0];
    const pages = (shell.children ?? []).filter((route) => !route.redirectTo);

    expect(pages.map((route) => route.path)).toEqual([
      'connections',
      'audit',
      'system',
      '**',
    ]);
    expect(
      pages.every((route) => route.loadComponent && !route.component),
    ).toBe(true);
  });
});
