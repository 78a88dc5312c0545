import { HttpRequest } from '@angular/common/http';
import { TestRequest } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { MatSelectHarness } from '@angular/material/select/testing';
import { Router } from '@angular/router';
import type {
  ApiErrorDto,
  ConnectionPageDto,
  ConnectOutcome,
} from '@keeper/contracts';
import { aConnection, aConnectionPage, countsOf } from '../../testing/fixtures';
import {
  readableText,
  readableTexts,
  renderConsole,
  RenderedConsole,
  textOf,
  textsOf,
  toastText,
} from '../../testing/render-console';
import { SEARCH_DEBOUNCE_MS } from './connections-list.store';
import { ConnectionsPage } from './connections.page';

describe(ConnectionsPage.name, () => {
  const acme = aConnection();
  const globex = aConnection({
    id: '0b9d3c1a-1111-4e5e-9a41-2b8c7d9e0f99',
    label: 'Globex (EU)',
    region: 'eu',
    status: 'needs_reauth',
    accessTokenExpiresAt: null,
    nextRefreshAt: null,
    failureCount: 3,
    lastError:
      'Amazon said the refresh token is no longer valid (invalid_grant).',
    profiles: [],
  });
  const initech = aConnection({
    id: '33333333-3333-4333-8333-333333333333',
    label: 'Initech (FE)',
    region: 'fe',
  });

  function pageRequest(sut: RenderedConsole): TestRequest {
    return sut.http.expectOne(
      (request) =>
        request.method === 'GET' && request.url === '/api/v1/connections',
    );
  }

  /** The query string as the API gets it. */
  function queryOf(request: HttpRequest<unknown>): string {
    return request.params.toString();
  }

  async function answer(
    sut: RenderedConsole,
    page: ConnectionPageDto,
  ): Promise<HttpRequest<unknown>> {
    const request = pageRequest(sut);
    request.flush(page);
    await sut.settle();
    return request.request;
  }

  async function render(
    url = '/connections',
    page?: ConnectionPageDto,
  ): Promise<RenderedConsole> {
    const sut = await renderConsole(url);
    if (page) await answer(sut, page);
    return sut;
  }

  function rows(sut: RenderedConsole): HTMLElement[] {
    return Array.from(
      sut.root.querySelectorAll<HTMLElement>('tr.connection-row'),
    );
  }

  function row(sut: RenderedConsole, label: string): HTMLElement {
    const found = rows(sut).find(
      (element) => textOf(element, 'a.label') === label,
    );
    if (!found) throw new Error(`No row for ${label}`);
    return found;
  }

  const labels = (sut: RenderedConsole) =>
    rows(sut).map((element) => textOf(element, 'a.label'));

  function button(root: Element, text: string): HTMLButtonElement {
    const found = Array.from(
      root.querySelectorAll<HTMLButtonElement>('button'),
    ).find((element) => {
      const copy = element.cloneNode(true) as HTMLElement;
      copy.querySelectorAll('mat-icon').forEach((icon) => icon.remove());
      return copy.textContent?.replace(/\s+/g, ' ').trim().endsWith(text);
    });
    if (!found) throw new Error(`No button "${text}"`);
    return found;
  }

  function chip(sut: RenderedConsole, status: string): HTMLElement {
    const found = sut.root.querySelector<HTMLElement>(
      `mat-chip-option[data-status="${status}"] button, mat-chip-option[data-status="${status}"] [role="option"]`,
    );
    if (!found) throw new Error(`No chip for ${status}`);
    return found;
  }

  function sortHeader(sut: RenderedConsole, text: string): HTMLElement {
    const found = Array.from(
      sut.root.querySelectorAll<HTMLElement>('th .mat-sort-header-container'),
    ).find((element) => element.textContent?.trim() === text);
    if (!found) throw new Error(`No sortable header "${text}"`);
    return found;
  }

  async function type(sut: RenderedConsole, text: string): Promise<void> {
    const input = sut.root.querySelector<HTMLInputElement>(
      'input[type="search"]',
    );
    if (!input) throw new Error('No search box');
    input.value = text;
    input.dispatchEvent(new Event('input'));
    await sut.settle();
  }

  const wait = (ms: number) =>
    new Promise<void>((resolve) => setTimeout(resolve, ms));

  const apiError = (statusCode: number, message: string): ApiErrorDto => ({
    statusCode,
    error: 'Error',
    message,
    correlationId: 'req-9e21',
  });

  const twoRows = aConnectionPage([acme, globex]);

  describe('while the first page loads', () => {
    it('asks for the first page in the default order, and shows skeleton rows hidden from screen readers', async () => {
      const sut = await render();

      expect(queryOf(pageRequest(sut).request)).toBe('');
      expect(sut.root.querySelectorAll('.skeleton .bone')).toHaveLength(5);
      expect(
        sut.root.querySelector('.skeleton')?.getAttribute('aria-hidden'),
      ).toBe('true');
      expect(textOf(sut.root, 'main [role="status"]')).toBe(
        'Loading the connections…',
      );
    });
  });

  describe('with no connection yet', () => {
    it('explains the first step and offers it', async () => {
      const sut = await render('/connections', aConnectionPage([]));

      expect(textOf(sut.root, 'atk-empty-state h2')).toBe(
        'No Amazon accounts connected yet',
      );
      expect(readableText(sut.root, 'atk-empty-state button')).toBe(
        'Connect Amazon account',
      );
      expect(sut.root.querySelector('table')).toBeNull();
    });

    it('starts the connect flow for the region chosen, as a page navigation', async () => {
      const sut = await render('/connections', aConnectionPage([]));

      button(sut.root, 'Connect Amazon account').click();
      await sut.settle();
      const regions = Array.from(
        document.querySelectorAll<HTMLButtonElement>('.mat-mdc-menu-item'),
      );
      expect(regions.map((item) => item.textContent?.trim())).toEqual([
        'North America',
        'Europe',
        'Far East',
      ]);
      regions[1].click();
      await sut.settle();

      expect(sut.externalNavigations).toEqual([
        '/api/v1/auth/amazon/start?region=eu',
      ]);
    });

    it('shows the first connection once the counts say there is one', async () => {
      const sut = await render('/connections', aConnectionPage([]));
      sut.eventSources.latest.open();

      sut.eventSources.latest.send({
        type: 'connections.counted',
        counts: countsOf([acme]),
      });
      await answer(sut, aConnectionPage([acme]));

      expect(labels(sut)).toEqual(['Acme Outdoor (NA)']);
    });
  });

  describe('the table', () => {
    it('shows a row per connection: label, region, status, countdown, last refresh, failures, profiles', async () => {
      const sut = await render('/connections', twoRows);

      expect(textsOf(sut.root, 'th')).toEqual([
        'Label',
        'Region',
        'Status',
        'Token expires in',
        'Last refreshed',
        'Failures',
        'Profiles',
      ]);
      const cells = (label: string) => readableTexts(row(sut, label), 'td');
      expect(cells('Acme Outdoor (NA)')).toEqual([
        'Acme Outdoor (NA)',
        'North America',
        'Status: Active',
        expect.stringMatching(/^(29:5\d|30:00)$/),
        expect.stringMatching(/^30 minutes ago \(.+\)$/),
        'None',
        '2',
      ]);
      expect(cells('Globex (EU)')).toEqual([
        'Globex (EU)',
        'Europe',
        'Status: Needs re-auth',
        'No token',
        expect.stringMatching(/^30 minutes ago/),
        '3 Amazon said the refresh token is no longer valid (invalid_grant).',
        '0',
      ]);
      expect(
        row(sut, 'Globex (EU)').querySelector('a.label')?.getAttribute('href'),
      ).toBe(`/connections/${globex.id}`);
      expect(textOf(sut.root, 'atk-page-header')).toContain(
        'Connect Amazon account',
      );
    });

    it('counts lost profiles apart', async () => {
      const [us, ca] = acme.profiles;
      const sut = await render(
        '/connections',
        aConnectionPage([
          { ...acme, profiles: [us, { ...ca, lostAt: acme.updatedAt }] },
        ]),
      );

      expect(readableTexts(row(sut, 'Acme Outdoor (NA)'), 'td').at(-1)).toBe(
        '1 (1 lost)',
      );
    });

    it('keeps the columns that fit a phone', async () => {
      const sut = await render('/connections', twoRows);

      await sut.setNarrow(true);
      // The shell's narrow layout is wider than a phone's: the fake viewport answers both.
      expect(textsOf(sut.root, 'th')).toEqual([
        'Label',
        'Status',
        'Token expires in',
      ]);
    });

    it('opens the connection when its row is clicked', async () => {
      const sut = await render('/connections', twoRows);

      row(sut, 'Globex (EU)').querySelector<HTMLElement>('td')?.click();
      await sut.settle();

      expect(TestBed.inject(Router).url).toBe(`/connections/${globex.id}`);
    });

    it('ticks every countdown with the one shared clock, not a timer per row', async () => {
      const setInterval = jest.spyOn(window, 'setInterval');
      const many = Array.from({ length: 20 }, (_, index) =>
        aConnection({
          id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
          label: `Account ${index}`,
        }),
      );

      const sut = await render('/connections', aConnectionPage(many));

      expect(sut.root.querySelectorAll('atk-expiry-countdown')).toHaveLength(
        20,
      );
      const everySecond = setInterval.mock.calls.filter(
        ([, delay]) => delay === 1000,
      );
      expect(everySecond).toHaveLength(1);
      setInterval.mockRestore();
    });
  });

  describe('sorting, filtering, searching and paging ask the API', () => {
    it('sorts by the header clicked: ascending, descending, then the default order', async () => {
      const sut = await render('/connections', twoRows);

      sortHeader(sut, 'Label').click();
      await sut.settle();
      expect(queryOf(await answer(sut, aConnectionPage([acme, globex])))).toBe(
        'sort=label',
      );
      sortHeader(sut, 'Label').click();
      await sut.settle();
      expect(queryOf(await answer(sut, aConnectionPage([globex, acme])))).toBe(
        'sort=-label',
      );
      expect(labels(sut)).toEqual(['Globex (EU)', 'Acme Outdoor (NA)']);
      sortHeader(sut, 'Label').click();
      await sut.settle();
      expect(queryOf(await answer(sut, twoRows))).toBe('');

      sortHeader(sut, 'Token expires in').click();
      await sut.settle();
      expect(queryOf(await answer(sut, twoRows))).toBe('sort=expiry');
      sortHeader(sut, 'Status').click();
      await sut.settle();
      expect(queryOf(await answer(sut, twoRows))).toBe('sort=status');
    });

    it('puts the counts on the status chips and filters by the chips picked', async () => {
      const sut = await render(
        '/connections',
        aConnectionPage([acme, globex], {
          counts: {
            active: 61_000,
            degraded: 12,
            needs_reauth: 3_400,
            disconnected: 5,
            total: 64_417,
          },
        }),
      );

      expect(readableTexts(sut.root, 'mat-chip-option')).toEqual([
        'Active 61000',
        'Degraded 12',
        'Needs re-auth 3400',
        'Disconnected 5',
      ]);
      expect(textOf(sut.root, '.total')).toBe('64417 in all');

      chip(sut, 'needs_reauth').click();
      await sut.settle();
      expect(queryOf(await answer(sut, aConnectionPage([globex])))).toBe(
        'status=needs_reauth',
      );
      chip(sut, 'degraded').click();
      await sut.settle();
      const both = new URLSearchParams(
        queryOf(await answer(sut, aConnectionPage([globex]))),
      );
      expect(both.getAll('status').sort()).toEqual([
        'degraded',
        'needs_reauth',
      ]);
      expect(labels(sut)).toEqual(['Globex (EU)']);
    });

    it('filters by region', async () => {
      const sut = await render('/connections', twoRows);
      const region = await sut.loader.getHarness(
        MatSelectHarness.with({ selector: '.region-filter' }),
      );

      await region.clickOptions({ text: 'Europe' });
      await sut.settle();

      expect(queryOf(await answer(sut, aConnectionPage([globex])))).toBe(
        'region=eu',
      );
    });

    it(`searches once the typing pauses for ${SEARCH_DEBOUNCE_MS} ms`, async () => {
      const sut = await render('/connections', twoRows);

      await type(sut, 'gl');
      await type(sut, ' globex ');
      sut.http.expectNone((request) => request.url === '/api/v1/connections');
      await wait(SEARCH_DEBOUNCE_MS + 50);
      await sut.settle();

      expect(queryOf(await answer(sut, aConnectionPage([globex])))).toBe(
        'q=globex',
      );
      expect(labels(sut)).toEqual(['Globex (EU)']);
    });

    it('pages forward with the cursor the API gave, and back with the one before', async () => {
      const sut = await render(
        '/connections',
        aConnectionPage([acme, globex], { nextCursor: 'cursor-2' }),
      );
      expect(textOf(sut.root, '.range')).toBe('Page 1 · Rows 1–2');
      expect(button(sut.root, 'Previous').disabled).toBe(true);

      sortHeader(sut, 'Label').click();
      await sut.settle();
      await answer(
        sut,
        aConnectionPage([acme, globex], { nextCursor: 'cursor-2' }),
      );
      button(sut.root, 'Next').click();
      await sut.settle();
      expect(
        queryOf(
          await answer(
            sut,
            aConnectionPage([initech], { nextCursor: 'cursor-3' }),
          ),
        ),
      ).toBe('sort=label&cursor=cursor-2');
      button(sut.root, 'Next').click();
      await sut.settle();
      expect(
        queryOf(
          await answer(sut, aConnectionPage([acme], { nextCursor: null })),
        ),
      ).toBe('sort=label&cursor=cursor-3');
      expect(button(sut.root, 'Next').disabled).toBe(true);
      expect(textOf(sut.root, '.range')).toBe('Page 3 · Rows 101–101');

      button(sut.root, 'Previous').click();
      await sut.settle();
      expect(
        queryOf(
          await answer(
            sut,
            aConnectionPage([initech], { nextCursor: 'cursor-3' }),
          ),
        ),
      ).toBe('sort=label&cursor=cursor-2');
      button(sut.root, 'Previous').click();
      await sut.settle();
      expect(queryOf(await answer(sut, twoRows))).toBe('sort=label');
    });

    it('asks for as many rows per page as picked, from the first page', async () => {
      const sut = await render(
        '/connections',
        aConnectionPage([acme, globex], { nextCursor: 'cursor-2' }),
      );
      button(sut.root, 'Next').click();
      await sut.settle();
      await answer(sut, aConnectionPage([initech]));
      const size = await sut.loader.getHarness(
        MatSelectHarness.with({ selector: '.page-size-select' }),
      );
      expect(await size.getValueText()).toBe('50');

      await size.clickOptions({ text: '200' });
      await sut.settle();

      expect(queryOf(await answer(sut, twoRows))).toBe('limit=200');
      expect(textOf(sut.root, '.range')).toBe('Page 1 · Rows 1–2');
    });

    it('starts again at the first page when a filter changes', async () => {
      const sut = await render(
        '/connections',
        aConnectionPage([acme, globex], { nextCursor: 'cursor-2' }),
      );
      button(sut.root, 'Next').click();
      await sut.settle();
      await answer(sut, aConnectionPage([initech]));

      chip(sut, 'active').click();
      await sut.settle();

      expect(queryOf(await answer(sut, aConnectionPage([acme])))).toBe(
        'status=active',
      );
      expect(textOf(sut.root, '.range')).toBe('Page 1 · Rows 1–1');
    });

    it('keeps the filters and the page when coming back from a connection', async () => {
      const sut = await render(
        '/connections',
        aConnectionPage([acme, globex], { nextCursor: 'cursor-2' }),
      );
      chip(sut, 'active').click();
      await sut.settle();
      await answer(
        sut,
        aConnectionPage([acme, globex], { nextCursor: 'cursor-2' }),
      );
      button(sut.root, 'Next').click();
      await sut.settle();
      await answer(sut, aConnectionPage([initech]));

      row(sut, 'Initech (FE)').querySelector<HTMLElement>('a.label')?.click();
      await sut.settle();
      sut.http.expectOne(`/api/v1/connections/${initech.id}`).flush(initech);
      await sut.settle();
      sut.root.querySelector<HTMLElement>('a.back')?.click();
      await sut.settle();

      expect(queryOf(await answer(sut, aConnectionPage([initech])))).toBe(
        'status=active&cursor=cursor-2',
      );
    });

    it('says when nothing matches, and clears the filters', async () => {
      const sut = await render('/connections', twoRows);
      chip(sut, 'disconnected').click();
      await sut.settle();
      await answer(
        sut,
        aConnectionPage([], { counts: countsOf([acme, globex]) }),
      );

      expect(textOf(sut.root, 'atk-empty-state h2')).toBe(
        'No connection matches these filters',
      );
      // The chips stay, to change the filter.
      expect(sut.root.querySelectorAll('mat-chip-option')).toHaveLength(4);

      button(sut.root, 'Show every connection').click();
      await sut.settle();
      expect(queryOf(await answer(sut, twoRows))).toBe('');
      expect(labels(sut)).toEqual(['Acme Outdoor (NA)', 'Globex (EU)']);
    });
  });

  describe('live updates', () => {
    it('changes a row on screen in place and ignores connections that are not', async () => {
      const sut = await render('/connections', twoRows);
      sut.eventSources.latest.open();

      sut.eventSources.latest.send({
        type: 'connection.changed',
        connection: {
          ...acme,
          status: 'degraded',
          failureCount: 2,
          lastError: 'Amazon timed out.',
        },
      });
      sut.eventSources.latest.send({
        type: 'connection.changed',
        connection: initech,
      });
      await sut.settle();

      expect(labels(sut)).toEqual(['Acme Outdoor (NA)', 'Globex (EU)']);
      expect(
        readableText(row(sut, 'Acme Outdoor (NA)'), 'atk-status-chip'),
      ).toBe('Status: Degraded');
      expect(textOf(row(sut, 'Acme Outdoor (NA)'), '.last-error')).toBe(
        'Amazon timed out.',
      );
      sut.http.expectNone((request) => request.url === '/api/v1/connections');
    });

    it('takes a removed connection off the page', async () => {
      const sut = await render('/connections', twoRows);
      sut.eventSources.latest.open();

      sut.eventSources.latest.send({
        type: 'connection.removed',
        connectionId: globex.id,
      });
      await sut.settle();

      expect(labels(sut)).toEqual(['Acme Outdoor (NA)']);
    });

    it('updates the chips from the counts, and offers to show connections added since', async () => {
      const sut = await render('/connections', twoRows);
      sut.eventSources.latest.open();

      sut.eventSources.latest.send({
        type: 'connections.counted',
        counts: countsOf([acme, globex, initech, { ...initech, id: 'x' }]),
      });
      await sut.settle();

      expect(
        readableText(sut.root, 'mat-chip-option[data-status="active"]'),
      ).toBe('Active 3');
      expect(readableText(sut.root, '.news')).toBe(
        '2 new connections since this list was loaded. Refresh the list',
      );
      sut.http.expectNone((request) => request.url === '/api/v1/connections');

      button(sut.root, 'Refresh the list').click();
      await sut.settle();
      await answer(sut, aConnectionPage([acme, globex, initech]));
      expect(labels(sut)).toHaveLength(3);
      expect(readableText(sut.root, '.news')).toBe('');
    });

    it('reloads the page without a toast while the stream is down', async () => {
      const sut = await render('/connections', twoRows);

      sut.eventSources.latest.fail();
      await sut.settle();
      pageRequest(sut).flush(apiError(503, 'Database down'), {
        status: 503,
        statusText: 'Service Unavailable',
      });
      await sut.settle();

      expect(toastText()).toBeNull();
      expect(rows(sut)).toHaveLength(2);
    });
  });

  describe('back from Amazon', () => {
    it.each<[ConnectOutcome, string, string]>([
      [
        'access_denied',
        'Access was denied on the Amazon consent page.',
        'Not connected: access was denied. Access was denied on the Amazon consent page.',
      ],
      [
        'state_invalid',
        'This sign-in was already used.',
        'Not connected: the sign-in was not recognised. This sign-in was already used.',
      ],
      [
        'state_expired',
        'The sign-in took longer than 10 minutes. Start again.',
        'Not connected: the sign-in expired. The sign-in took longer than 10 minutes. Start again.',
      ],
      [
        'amazon_error',
        'Amazon refused the request (server_error).',
        'Not connected: Amazon answered with an error. Amazon refused the request (server_error).',
      ],
    ])(
      'says what went wrong after %s, once, and clears it from the address',
      async (outcome, reason, toast) => {
        const query = new URLSearchParams({ connect: outcome, reason });

        await render(`/connections?${query}`, twoRows);

        expect(toastText()).toBe(toast);
        expect(TestBed.inject(Router).url).toBe('/connections');
      },
    );

    it('ignores an outcome it does not know', async () => {
      await render(
        '/connections?connect=pwned&reason=Call%20this%20number',
        twoRows,
      );

      expect(toastText()).toBeNull();
    });
  });

  it('offers to try again when the first page did not load', async () => {
    const sut = await render();
    pageRequest(sut).flush(apiError(500, 'Internal server error'), {
      status: 500,
      statusText: 'Internal Server Error',
    });
    await sut.settle();

    expect(toastText()).toBe('Internal server error (correlation id req-9e21)');
    expect(textOf(sut.root, 'atk-empty-state h2')).toBe(
      'The connections did not load',
    );
    expect(readableText(sut.root, 'atk-empty-state .body')).toContain(
      'Internal server error Correlation id req-9e21',
    );

    button(sut.root, 'Try again').click();
    await sut.settle();
    await answer(sut, aConnectionPage([acme]));

    expect(rows(sut)).toHaveLength(1);
  });
});
