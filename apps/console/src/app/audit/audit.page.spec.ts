import { HttpRequest } from '@angular/common/http';
import { TestRequest } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { MatPaginatorHarness } from '@angular/material/paginator/testing';
import { MatAutocompleteHarness } from '@angular/material/autocomplete/testing';
import { MatSelectHarness } from '@angular/material/select/testing';
import { Router } from '@angular/router';
import type { AuditEventDto } from '@keeper/contracts';
import {
  aConnection,
  aConnectionPage,
  anAuditEvent,
} from '../../testing/fixtures';
import {
  readableText,
  readableTexts,
  renderConsole,
  RenderedConsole,
  textOf,
} from '../../testing/render-console';
import { AuditPage, CONNECTION_SEARCH_DEBOUNCE_MS } from './audit.page';

describe(AuditPage.name, () => {
  const acme = aConnection();
  const refreshed = anAuditEvent();
  const failed = anAuditEvent({
    id: '1042',
    type: 'refresh_failed',
    actor: 'scheduler',
    correlationId: 'req-77aa',
    details: {
      kind: 'transient',
      message: 'Amazon timed out.',
      failureCount: 1,
      retryInSeconds: 30,
    },
    createdAt: new Date(Date.now() - 2 * 3600_000).toISOString(),
  });
  const login = anAuditEvent({
    id: '1041',
    connectionId: null,
    type: 'login',
    actor: 'admin',
    details: { ip: '10.0.0.7' },
    createdAt: new Date(Date.now() - 3 * 86_400_000).toISOString(),
  });

  const globex = aConnection({
    id: '0d8e2b1c-5a4f-4e3d-9c2b-1a0f9e8d7c6b',
    label: 'Globex (EU)',
    region: 'eu',
  });
  /** The query strings of the connection filter's searches, in order. */
  let searches: Record<string, string>[];

  async function render(url = '/audit'): Promise<RenderedConsole> {
    searches = [];
    return renderConsole(url, {
      api: {
        'GET /api/v1/connections': (request: HttpRequest<unknown>) => {
          const params = paramsOf(request);
          searches.push(params);
          const q = (params['q'] ?? '').toLowerCase();
          return aConnectionPage(
            [acme, globex].filter((c) => c.label.toLowerCase().includes(q)),
          );
        },
        [`GET /api/v1/connections/${acme.id}`]: acme,
      },
    });
  }

  /** Longer than the connection filter waits after the last key press. */
  const debounced = () =>
    new Promise((resolve) =>
      setTimeout(resolve, CONNECTION_SEARCH_DEBOUNCE_MS + 50),
    );

  function pageRequest(sut: RenderedConsole): TestRequest {
    return sut.http.expectOne(
      (request) => request.url === '/api/v1/audit-events',
    );
  }

  function paramsOf(request: HttpRequest<unknown>): Record<string, string> {
    return Object.fromEntries(
      request.params.keys().map((key) => [key, request.params.get(key) ?? '']),
    );
  }

  async function flushPage(
    sut: RenderedConsole,
    items: AuditEventDto[],
    nextCursor: string | null = null,
  ): Promise<Record<string, string>> {
    const request = pageRequest(sut);
    request.flush({ items, nextCursor });
    await sut.settle();
    return paramsOf(request.request);
  }

  function rows(sut: RenderedConsole): string[][] {
    return Array.from(sut.root.querySelectorAll('tr.event-row')).map((row) =>
      readableTexts(row, 'td').slice(0, 4),
    );
  }

  it('lists the newest events first, with the connection by its label and who did it', async () => {
    const sut = await render();

    expect(
      sut.root.querySelector(
        'mat-progress-bar[aria-label="Loading audit events"]',
      ),
    ).not.toBeNull();
    const params = await flushPage(sut, [refreshed, failed, login]);

    expect(params).toEqual({ limit: '50' });
    expect(readableTexts(sut.root, 'th')).toEqual([
      'When',
      'Event',
      'Connection',
      'By',
      'Details',
    ]);
    expect(rows(sut)).toEqual([
      [
        expect.stringMatching(/^3 minutes ago \(.+\)$/),
        'Refreshed',
        'Acme Outdoor (NA)',
        'scheduler',
      ],
      [
        expect.stringMatching(/^2 hours ago/),
        'Refresh failed',
        'Acme Outdoor (NA)',
        'scheduler',
      ],
      [expect.stringMatching(/^3 days ago/), 'Logged in', '—', 'admin'],
    ]);
    expect(sut.root.querySelector('mat-progress-bar')).toBeNull();
  });

  it('gives the exact time of each event in its time element and on hover', async () => {
    const sut = await render();
    await flushPage(sut, [refreshed]);

    const time = sut.root.querySelector('tr.event-row time');
    expect(time?.getAttribute('datetime')).toBe(refreshed.createdAt);
    expect(time?.classList).toContain('mat-mdc-tooltip-trigger');
    expect(textOf(sut.root, 'tr.event-row .visually-hidden')).toMatch(
      /^\(\d{1,2} \w{3} \d{4}, \d{2}:\d{2}:\d{2}\)$/,
    );
  });

  it('marks failures with an icon and words, not colour alone', async () => {
    const sut = await render();
    await flushPage(sut, [refreshed, failed]);

    const types = Array.from(sut.root.querySelectorAll('.type'));
    expect(types.map((type) => type.classList.contains('failure'))).toEqual([
      false,
      true,
    ]);
    expect(types[1].querySelector('mat-icon')?.textContent).toBe('error');
  });

  it('shows the details of an event when its row is expanded, and hides them again', async () => {
    const sut = await render();
    await flushPage(sut, [refreshed, failed]);
    const expand =
      sut.root.querySelectorAll<HTMLButtonElement>('button.expand')[1];

    expect(expand.getAttribute('aria-expanded')).toBe('false');
    expect(expand.getAttribute('aria-label')).toMatch(
      /^Details of Refresh failed, /,
    );
    expand.click();
    await sut.settle();

    expect(expand.getAttribute('aria-expanded')).toBe('true');
    const details = sut.root.querySelector(
      `#${expand.getAttribute('aria-controls')}`,
    );
    if (!details) throw new Error('No details');
    expect(readableTexts(details, 'dl > div')).toEqual([
      expect.stringMatching(/^Time \d/),
      'By scheduler',
      'Connection Acme Outdoor (NA)',
      'Correlation id req-77aa',
      'kind transient',
      'message Amazon timed out.',
      'failureCount 1',
      'retryInSeconds 30',
    ]);

    expand.click();
    await sut.settle();
    expect(details.querySelector('dl')).toBeNull();
  });

  it('never shows a value that looks like a credential, should one ever be sent', async () => {
    const sut = await render();
    await flushPage(sut, [
      anAuditEvent({
        details: {
          access_token: 'Atza|IwEB-leaked',
          refreshTokenRotated: true,
          durationMs: 5,
        },
      }),
    ]);

    sut.root.querySelector<HTMLButtonElement>('button.expand')?.click();
    await sut.settle();

    expect(sut.root.textContent).not.toContain('Atza|');
    expect(readableTexts(sut.root, '.details dl > div').slice(4)).toEqual([
      'access_token (hidden)',
      'refreshTokenRotated true',
      'durationMs 5',
    ]);
  });

  describe('filters', () => {
    it('asks for the events of one type and keeps the filter in the address', async () => {
      const sut = await render();
      await flushPage(sut, [refreshed, failed]);

      const typeSelect = await sut.loader.getHarness(
        MatSelectHarness.with({ selector: '.type-filter' }),
      );
      await typeSelect.open();
      await typeSelect.clickOptions({ text: 'Refresh failed' });
      await sut.settle();

      expect(TestBed.inject(Router).url).toBe('/audit?type=refresh_failed');
      expect(await flushPage(sut, [failed])).toEqual({
        limit: '50',
        type: 'refresh_failed',
      });
      expect(rows(sut).map((row) => row[1])).toEqual(['Refresh failed']);
    });

    it('finds a connection by what is typed (the API’s search) and asks for its events', async () => {
      const sut = await render();
      await flushPage(sut, [refreshed, login]);

      const filter = await sut.loader.getHarness(
        MatAutocompleteHarness.with({ selector: '.connection-filter' }),
      );
      await filter.enterText('  glob');
      expect(searches).toEqual([]);
      await debounced();
      await sut.settle();
      expect(searches).toEqual([{ q: 'glob', limit: '20' }]);
      expect(
        await Promise.all(
          (await filter.getOptions()).map((option) => option.getText()),
        ),
      ).toEqual(['All connections', 'Globex (EU)']);
      await filter.selectOption({ text: 'Globex (EU)' });
      await sut.settle();

      expect(TestBed.inject(Router).url).toBe(
        `/audit?connectionId=${globex.id}`,
      );
      expect(await flushPage(sut, [])).toEqual({
        limit: '50',
        connectionId: globex.id,
      });
      expect(await filter.getValue()).toBe('Globex (EU)');
      // The search taught its label: not asked for again.
      sut.http.expectNone(`/api/v1/connections/${globex.id}`);
    });

    it('shows the connection in the address by its label, asked for by id, and lets it go', async () => {
      const sut = await render(`/audit?connectionId=${acme.id}`);
      expect(await flushPage(sut, [refreshed])).toEqual({
        limit: '50',
        connectionId: acme.id,
      });

      const filter = await sut.loader.getHarness(
        MatAutocompleteHarness.with({ selector: '.connection-filter' }),
      );
      expect(await filter.getValue()).toBe('Acme Outdoor (NA)');
      expect(rows(sut)[0][2]).toBe('Acme Outdoor (NA)');

      sut.root
        .querySelector<HTMLButtonElement>('button.clear-connection')
        ?.click();
      await sut.settle();
      expect(TestBed.inject(Router).url).toBe('/audit');
      expect(await flushPage(sut, [refreshed])).toEqual({ limit: '50' });
      expect(await filter.getValue()).toBe('');
    });

    it('shows the id of a connection the API does not know, in the filter and the rows', async () => {
      const gone = '9a9a9a9a-0000-4000-8000-000000000000';
      const sut = await render(`/audit?connectionId=${gone}`);
      await flushPage(sut, [anAuditEvent({ connectionId: gone })]);
      sut.http.expectOne(`/api/v1/connections/${gone}`).flush(
        {
          statusCode: 404,
          error: 'Not Found',
          message: 'No such connection',
        },
        { status: 404, statusText: 'Not Found' },
      );
      await sut.settle();

      const filter = await sut.loader.getHarness(
        MatAutocompleteHarness.with({ selector: '.connection-filter' }),
      );
      expect(await filter.getValue()).toBe(gone);
      expect(rows(sut)[0][2]).toBe(gone);
    });

    it('starts from the filters in the address, and clears them', async () => {
      const sut = await render(`/audit?connectionId=${acme.id}&type=refreshed`);

      expect(await flushPage(sut, [])).toEqual({
        limit: '50',
        connectionId: acme.id,
        type: 'refreshed',
      });
      expect(textOf(sut.root, 'atk-empty-state h2')).toBe(
        'No events match these filters',
      );

      const clear = sut.root.querySelector<HTMLButtonElement>(
        'button.clear-filters',
      );
      clear?.click();
      await sut.settle();

      expect(TestBed.inject(Router).url).toBe('/audit');
      expect(await flushPage(sut, [refreshed])).toEqual({ limit: '50' });
    });

    it('ignores a type in the address that the API does not know', async () => {
      const sut = await render('/audit?type=drop_tables');

      expect(await flushPage(sut, [])).toEqual({ limit: '50' });
      expect(textOf(sut.root, 'atk-empty-state h2')).toBe(
        'No audit events yet',
      );
    });
  });

  describe('paging', () => {
    const page = (from: number, count: number) =>
      Array.from({ length: count }, (_, index) =>
        anAuditEvent({ id: String(from - index), type: 'refreshed' }),
      );

    it('goes back in time a page at a time with the cursor the API gave, and forward again', async () => {
      const sut = await render();
      await flushPage(sut, page(2000, 50), '1951');
      const paginator = await sut.loader.getHarness(MatPaginatorHarness);

      expect(await paginator.getRangeLabel()).toBe('1 – 50 of many');
      expect(await paginator.isPreviousPageDisabled()).toBe(true);

      await paginator.goToNextPage();
      expect(await flushPage(sut, page(1950, 12))).toEqual({
        limit: '50',
        before: '1951',
      });

      expect(await paginator.getRangeLabel()).toBe('51 – 62 of 62');
      expect(await paginator.isNextPageDisabled()).toBe(true);
      expect(rows(sut)).toHaveLength(12);

      await paginator.goToPreviousPage();
      expect(await flushPage(sut, page(2000, 50), '1951')).toEqual({
        limit: '50',
      });
      expect(await paginator.getRangeLabel()).toBe('1 – 50 of many');
    });

    it('starts over from the newest with another page size', async () => {
      const sut = await render();
      await flushPage(sut, page(2000, 50), '1951');
      const paginator = await sut.loader.getHarness(MatPaginatorHarness);
      await paginator.goToNextPage();
      await flushPage(sut, page(1950, 50), '1901');

      await paginator.setPageSize(100);

      expect(await flushPage(sut, page(2000, 100), '1901')).toEqual({
        limit: '100',
      });
      expect(await paginator.getRangeLabel()).toBe('1 – 100 of many');
    });
  });

  describe('live', () => {
    it('puts a new event on top of the newest page when it passes the filters', async () => {
      const sut = await render('/audit?type=refreshed');
      await flushPage(sut, [refreshed]);
      sut.eventSources.latest.open();

      sut.eventSources.latest.send({
        type: 'audit.appended',
        event: anAuditEvent({
          id: '1044',
          createdAt: new Date().toISOString(),
        }),
      });
      sut.eventSources.latest.send({
        type: 'audit.appended',
        event: anAuditEvent({ id: '1045', type: 'login' }),
      });
      await sut.settle();

      expect(rows(sut).map((row) => row[0])).toEqual([
        expect.stringMatching(/^just now/),
        expect.stringMatching(/^3 minutes ago/),
      ]);
    });

    it('reloads the newest page quietly while the stream is down', async () => {
      const sut = await render();
      await flushPage(sut, [refreshed]);

      sut.eventSources.latest.fail();
      await sut.settle();

      expect(await flushPage(sut, [failed, refreshed])).toEqual({
        limit: '50',
      });
      expect(rows(sut)).toHaveLength(2);
      expect(sut.root.querySelector('mat-progress-bar')).toBeNull();
    });
  });

  it('says why the events did not load, and tries again on request', async () => {
    const sut = await render();
    pageRequest(sut).flush(
      {
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'The database is not reachable.',
        correlationId: 'req-db',
      },
      { status: 503, statusText: 'Service Unavailable' },
    );
    await sut.settle();

    expect(textOf(sut.root, 'atk-empty-state h2')).toBe(
      'The audit events did not load',
    );
    expect(readableText(sut.root, 'atk-empty-state .body')).toContain(
      'The database is not reachable. Correlation id req-db',
    );

    sut.root
      .querySelector<HTMLButtonElement>('atk-empty-state button')
      ?.click();
    await sut.settle();
    await flushPage(sut, [refreshed]);

    expect(rows(sut)).toHaveLength(1);
  });

  it('says so when there is nothing yet, and where the first event comes from', async () => {
    const sut = await render();
    await flushPage(sut, []);

    expect(textOf(sut.root, 'atk-empty-state h2')).toBe('No audit events yet');
    expect(readableText(sut.root, 'atk-empty-state')).toContain('Connections');
    expect(sut.root.querySelector('table')).toBeNull();
  });
});
