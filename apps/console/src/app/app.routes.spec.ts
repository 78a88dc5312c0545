import { TestBed } from '@angular/core/testing';
import { Title } from '@angular/platform-browser';
import { Router } from '@angular/router';
import type { SystemStatusDto } from '@keeper/contracts';
import { aConnectionPage } from '../testing/fixtures';
import { renderConsole, textOf } from '../testing/render-console';
import { appRoutes } from './app.routes';

/** An API with nothing in it yet. */
const EMPTY_API = {
  'GET /api/v1/connections': aConnectionPage([]),
  'GET /api/v1/audit-events': { items: [], nextCursor: null },
  'GET /api/v1/service-keys': [],
  'GET /api/v1/connect-links': [],
  'GET /api/v1/system': {
    usingSandbox: true,
    refreshWindowSeconds: 300,
    refreshCron: '0 * * * * *',
    schedulerLastTickAt: null,
    refreshPausedReason: null,
    keys: [],
    checks: [],
  } satisfies SystemStatusDto,
};

describe('appRoutes', () => {
  it('sends / to the Connections page', async () => {
    const sut = await renderConsole('/', { api: EMPTY_API });

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
      url: '/service-keys',
      title: 'Service keys',
      emptyHeading: 'No keys for jobs yet',
      explains: 'Make one for each job',
    },
    {
      url: '/connect-links',
      title: 'Connect links',
      emptyHeading: 'No connect links yet',
      explains: 'Make one for each account owner',
    },
    {
      url: '/audit',
      title: 'Audit',
      emptyHeading: 'No audit events yet',
      explains:
        'Every connect, refresh, failure and key rotation will be listed here',
    },
  ])(
    'shows $title with its empty state and tab title at $url',
    async ({ url, title, emptyHeading, explains }) => {
      const sut = await renderConsole(url, { api: EMPTY_API });

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
    const sut = await renderConsole('/connections', { api: EMPTY_API });
    const router = TestBed.inject(Router);

    for (const [href, heading] of [
      ['/service-keys', 'Service keys'],
      ['/connect-links', 'Connect links'],
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
    const sut = await renderConsole('/audit', { api: EMPTY_API });

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
      5,
    );
    expect(TestBed.inject(Title).getTitle()).toBe(
      'Page not found · ads-token-keeper',
    );
  });

  it('sends a visitor without a session to the login page, remembering where they were going', async () => {
    const sut = await renderConsole('/audit?type=refreshed', {
      loggedIn: false,
    });

    expect(TestBed.inject(Router).url).toBe(
      '/login?returnUrl=%2Faudit%3Ftype%3Drefreshed',
    );
    expect(textOf(sut.root, 'h1')).toBe('Log in to ads-token-keeper');
    expect(sut.root.querySelector('nav')).toBeNull();
    expect(TestBed.inject(Title).getTitle()).toBe('Log in · ads-token-keeper');
  });

  it('brings the admin back to the same page, filters and all, after the session ran out', async () => {
    const sut = await renderConsole('/audit?type=refreshed', {
      api: { 'GET /api/v1/connections': aConnectionPage([]) },
    });
    const router = TestBed.inject(Router);

    sut.http
      .expectOne((request) => request.url === '/api/v1/audit-events')
      .flush(
        {
          statusCode: 401,
          error: 'Unauthorized',
          message: 'Log in first: this route needs an admin session.',
          correlationId: 'req-1',
        },
        { status: 401, statusText: 'Unauthorized' },
      );
    await sut.settle();
    expect(router.url).toBe('/login?returnUrl=%2Faudit%3Ftype%3Drefreshed');

    const password = sut.root.querySelector<HTMLInputElement>('input#password');
    if (!password) throw new Error('No password field');
    password.value = 'correct horse';
    password.dispatchEvent(new Event('input'));
    sut.root.querySelector('form')?.requestSubmit();
    await sut.settle();
    sut.http
      .expectOne('/api/v1/session')
      .flush({ authenticated: true, expiresAt: null });
    await sut.settle();

    expect(router.url).toBe('/audit?type=refreshed');
    const request = sut.http.expectOne(
      (request) => request.url === '/api/v1/audit-events',
    );
    expect(request.request.params.get('type')).toBe('refreshed');
  });

  it('skips the login page for an admin who is logged in already', async () => {
    await renderConsole('/login?returnUrl=%2Fsystem', { api: EMPTY_API });

    expect(TestBed.inject(Router).url).toBe('/system');
  });

  it('loads every page lazily, the shell included', () => {
    const shell = appRoutes.find((route) => route.path === '');
    expect(shell?.loadComponent).toBeDefined();
    expect(shell?.canActivate).toHaveLength(1);
    const pages = (shell?.children ?? []).filter((route) => !route.redirectTo);

    expect(pages.map((route) => route.path)).toEqual([
      'connections',
      'connections/:id',
      'service-keys',
      'connect-links',
      'audit',
      'system',
      '**',
    ]);
    expect(
      pages.every((route) => route.loadComponent && !route.component),
    ).toBe(true);
  });
});
