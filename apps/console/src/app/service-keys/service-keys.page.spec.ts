import type { HttpRequest } from '@angular/common/http';
import type { TestRequest } from '@angular/common/http/testing';
import type {
  ConnectionDto,
  CreatedServiceKeyDto,
  ServiceKeyDto,
} from '@keeper/contracts';
import { aConnection, aConnectionPage } from '../../testing/fixtures';
import {
  readableText,
  readableTexts,
  renderConsole,
  RenderedConsole,
  textOf,
  toastText,
} from '../../testing/render-console';
import { PICKER_SEARCH_DEBOUNCE_MS } from './create-key-dialog';
import { ServiceKeysPage } from './service-keys.page';

const acme = aConnection();
const globex = aConnection({
  id: '0d8e2b1c-5a4f-4e3d-9c2b-1a0f9e8d7c6b',
  label: 'Globex (EU)',
  region: 'eu',
});

function aKey(overrides: Partial<ServiceKeyDto> = {}): ServiceKeyDto {
  return {
    id: '0b9c3f5e-8a7d-4e21-b6f4-2d1c9e8a7b60',
    name: 'Nightly reports',
    connectionIds: null,
    createdAt: new Date(Date.now() - 3 * 3_600_000).toISOString(),
    lastUsedAt: null,
    revokedAt: null,
    ...overrides,
  };
}

const KEY = 'atk_3q2-7wSECRETsecretSECRETsecretSECRETsecre';

describe(ServiceKeysPage.name, () => {
  async function render(keys: ServiceKeyDto[]): Promise<RenderedConsole> {
    const sut = await renderConsole('/service-keys');
    sut.http.expectOne('/api/v1/service-keys').flush(keys);
    await sut.settle();
    return sut;
  }

  const isSearch = (request: HttpRequest<unknown>) =>
    request.method === 'GET' && request.url === '/api/v1/connections';

  /** The picker's one pending search, with its query string. */
  function searchRequest(sut: RenderedConsole): {
    request: TestRequest;
    params: Record<string, string>;
  } {
    const request = sut.http.expectOne(isSearch);
    const { params } = request.request;
    return {
      request,
      params: Object.fromEntries(
        params.keys().map((key) => [key, params.get(key) ?? '']),
      ),
    };
  }

  async function answerSearch(
    sut: RenderedConsole,
    items: ConnectionDto[],
    nextCursor: string | null = null,
  ): Promise<Record<string, string>> {
    const { request, params } = searchRequest(sut);
    request.flush(aConnectionPage(items, { nextCursor }));
    await sut.settle();
    return params;
  }

  /** Longer than the picker waits after the last key press. */
  const debounced = () =>
    new Promise((resolve) =>
      setTimeout(resolve, PICKER_SEARCH_DEBOUNCE_MS + 50),
    );

  /** The button whose words (icons left out) start with `text`. */
  function button(root: Element, text: string): HTMLButtonElement {
    const buttons = Array.from(
      root.querySelectorAll<HTMLButtonElement>('button'),
    );
    const found = buttons.find((element, index) =>
      readableTexts(root, 'button')[index].startsWith(text),
    );
    if (!found) throw new Error(`No button "${text}"`);
    return found;
  }

  function dialog(): HTMLElement {
    const found = document.querySelector<HTMLElement>('mat-dialog-container');
    if (!found) throw new Error('No dialog');
    return found;
  }

  /** The first element in the dialog matching `selector`. */
  function inDialog<T extends HTMLElement>(selector: string): T {
    const found = dialog().querySelector<T>(selector);
    if (!found) throw new Error(`No ${selector} in the dialog`);
    return found;
  }

  async function type(
    sut: RenderedConsole,
    input: HTMLInputElement,
    value: string,
  ) {
    input.value = value;
    input.dispatchEvent(new Event('input'));
    await sut.settle();
  }

  it('says it is loading until the keys arrive', async () => {
    const sut = await renderConsole('/service-keys');

    expect(textOf(sut.root, 'main [role="status"]')).toBe('Loading the keys…');
  });

  it('lists each key with its name, scope (with the connections’ names), times and status', async () => {
    const sut = await render([
      aKey({
        id: 'k2',
        name: 'Alpha job',
        connectionIds: [acme.id, '9a9a9a9a-0000-4000-8000-000000000000'],
        lastUsedAt: new Date(Date.now() - 5 * 60_000).toISOString(),
      }),
      aKey({
        id: 'k1',
        revokedAt: new Date(Date.now() - 60 * 60_000).toISOString(),
      }),
    ]);
    // Each named connection's label, once: an unknown one (404) stays an id.
    sut.http.expectOne(`/api/v1/connections/${acme.id}`).flush(acme);
    sut.http
      .expectOne('/api/v1/connections/9a9a9a9a-0000-4000-8000-000000000000')
      .flush(
        { statusCode: 404, error: 'Not Found', message: 'No such connection' },
        { status: 404, statusText: 'Not Found' },
      );
    await sut.settle();
    sut.http.expectNone((request) =>
      request.url.startsWith('/api/v1/connections'),
    );

    expect(readableTexts(sut.root, 'table.keys thead th')).toEqual([
      'Name',
      'Scope',
      'Created',
      'Last used',
      'Status',
      'Actions',
    ]);
    const rows = Array.from(sut.root.querySelectorAll('tr.key'));
    expect(readableText(rows[0], '.name')).toBe('Alpha job');
    expect(readableText(rows[0], '.scope')).toBe(
      '2 connections Acme Outdoor (NA), 9a9a9a9a-0000-4000-8000-000000000000',
    );
    expect(readableText(rows[0], 'td:nth-of-type(3)')).toContain(
      '5 minutes ago',
    );
    expect(readableText(rows[0], '.status')).toBe('Active');
    expect(readableText(rows[0], '.revoke')).toBe('Revoke “Alpha job”');
    expect(readableText(rows[1], '.scope')).toBe('All connections');
    expect(readableText(rows[1], 'td:nth-of-type(3)')).toBe('never');
    expect(readableText(rows[1], '.status')).toContain('Revoked');
    expect(rows[1].querySelector('.revoke')).toBeNull();
  });

  it('makes a key for every connection and shows it once, with a copy button, until the admin says it is copied', async () => {
    const sut = await render([]);

    button(sut.root, 'New key').click();
    await sut.settle();
    await type(
      sut,
      inDialog<HTMLInputElement>('input.name'),
      '  Nightly reports ',
    );
    button(dialog(), 'Create key').click();
    const request = sut.http.expectOne('/api/v1/service-keys');
    expect(request.request.method).toBe('POST');
    expect(request.request.body).toEqual({ name: 'Nightly reports' });
    const created: CreatedServiceKeyDto = { ...aKey(), key: KEY };
    request.flush(created, { status: 201, statusText: 'Created' });
    await sut.settle();

    expect(textOf(dialog(), 'h2')).toBe('Copy the key for “Nightly reports”');
    expect(readableText(dialog(), '[role="alert"]')).toContain(
      'You will not see this key again.',
    );
    expect(textOf(dialog(), 'code.key')).toBe(KEY);
    expect(dialog().querySelector('atk-copy-button')).not.toBeNull();
    expect(textOf(dialog(), '.hint')).toContain(
      'It may read every connection.',
    );

    button(dialog(), 'I have copied it').click();
    await sut.settle();
    expect(document.querySelector('mat-dialog-container')).toBeNull();
    expect(readableText(sut.root, 'tr.key .name')).toBe('Nightly reports');
    expect(document.body.textContent).not.toContain(KEY);
  });

  it('limits a key to connections found by the API’s search, keeping the chosen ones whatever the search', async () => {
    const sut = await render([]);

    button(sut.root, 'New key').click();
    await sut.settle();
    await type(sut, inDialog<HTMLInputElement>('input.name'), 'Globex job');
    sut.http.expectNone(isSearch);
    inDialog<HTMLElement>('.scope-chosen input').click();
    await sut.settle();
    // The first page, at once.
    expect(await answerSearch(sut, [acme, globex])).toEqual({ limit: '50' });
    expect(readableTexts(dialog(), '.choice label')).toHaveLength(2);
    expect(textOf(dialog(), '.picker .hint')).toBe('2 connections.');

    await type(sut, inDialog<HTMLInputElement>('input.search'), ' glob ');
    sut.http.expectNone(isSearch);
    await debounced();
    expect(await answerSearch(sut, [globex])).toEqual({
      q: 'glob',
      limit: '50',
    });
    expect(textOf(dialog(), '.picker .hint')).toBe('1 connection.');
    inDialog<HTMLInputElement>('.choice input').click();
    await sut.settle();
    expect(textOf(dialog(), 'legend')).toBe('Connections (1 chosen)');

    await type(sut, inDialog<HTMLInputElement>('input.search'), 'acme');
    await debounced();
    await answerSearch(sut, [acme]);
    const choices = Array.from(dialog().querySelectorAll('.choice'));
    expect(choices.map((choice) => readableText(choice, 'label'))).toEqual([
      `Globex (EU) EU · ${globex.id}`,
      `Acme Outdoor (NA) NA · ${acme.id}`,
    ]);
    expect(
      choices.map(
        (choice) => choice.querySelector<HTMLInputElement>('input')?.checked,
      ),
    ).toEqual([true, false]);
    expect(textOf(dialog(), 'legend')).toBe('Connections (1 chosen)');
    button(dialog(), 'Create key').click();

    const request = sut.http.expectOne('/api/v1/service-keys');
    expect(request.request.body).toEqual({
      name: 'Globex job',
      connectionIds: [globex.id],
    });
    request.flush(
      { ...aKey({ name: 'Globex job', connectionIds: [globex.id] }), key: KEY },
      { status: 201, statusText: 'Created' },
    );
    await sut.settle();
    expect(textOf(dialog(), '.hint')).toContain('It may read 1 connection;');
    button(dialog(), 'I have copied it').click();
    await sut.settle();
    // The search taught the label: no request for it.
    sut.http.expectNone(`/api/v1/connections/${globex.id}`);
    expect(readableText(sut.root, 'tr.key .scope')).toBe(
      '1 connection Globex (EU)',
    );
  });

  it('asks once the typing pauses, and shows only the latest search’s answer', async () => {
    const sut = await render([]);
    button(sut.root, 'New key').click();
    await sut.settle();
    inDialog<HTMLElement>('.scope-chosen input').click();
    await sut.settle();
    await answerSearch(sut, [acme, globex], 'next');
    expect(textOf(dialog(), '.picker .hint')).toBe(
      'The first 2 matching connections shown: search to narrow.',
    );

    const search = inDialog<HTMLInputElement>('input.search');
    await type(sut, search, 'g');
    await type(sut, search, 'gl');
    await type(sut, search, 'glo');
    await debounced();
    const first = searchRequest(sut);
    expect(first.params).toEqual({ q: 'glo', limit: '50' });

    await type(sut, search, 'zzz');
    await debounced();
    const second = searchRequest(sut);
    expect(second.params).toEqual({ q: 'zzz', limit: '50' });
    expect(first.request.cancelled).toBe(true);
    second.request.flush(aConnectionPage([]));
    await sut.settle();

    expect(dialog().querySelectorAll('.choice')).toHaveLength(0);
    expect(textOf(dialog(), '.picker .hint')).toBe('No connection matches.');
  });

  it('says what is missing, and what the API refused, beside the form', async () => {
    const sut = await render([]);
    button(sut.root, 'New key').click();
    await sut.settle();

    button(dialog(), 'Create key').click();
    await sut.settle();
    expect(readableText(dialog(), '#create-key-error')).toBe(
      'Give the key a name.',
    );
    sut.http.expectNone('/api/v1/service-keys');

    await type(sut, inDialog<HTMLInputElement>('input.name'), 'x');
    inDialog<HTMLElement>('.scope-chosen input').click();
    await sut.settle();
    button(dialog(), 'Create key').click();
    await sut.settle();
    expect(readableText(dialog(), '#create-key-error')).toBe(
      'Choose at least one connection, or every connection.',
    );

    inDialog<HTMLElement>('.scope-all input').click();
    await sut.settle();
    button(dialog(), 'Create key').click();
    sut.http.expectOne('/api/v1/service-keys').flush(
      {
        statusCode: 400,
        error: 'Bad Request',
        message: 'name must be plain text, without control characters',
        correlationId: 'req-1',
      },
      { status: 400, statusText: 'Bad Request' },
    );
    await sut.settle();
    expect(readableText(dialog(), '#create-key-error')).toBe(
      'name must be plain text, without control characters',
    );
  });

  it('revokes a key after asking, and shows it as revoked', async () => {
    const key = aKey();
    const sut = await render([key]);

    button(sut.root, 'Revoke').click();
    await sut.settle();
    expect(textOf(dialog(), 'h2')).toBe('Revoke “Nightly reports”?');
    button(dialog(), 'Cancel').click();
    await sut.settle();
    sut.http.expectNone(`/api/v1/service-keys/${key.id}`);

    button(sut.root, 'Revoke').click();
    await sut.settle();
    button(dialog(), 'Revoke').click();
    await sut.settle();
    const request = sut.http.expectOne(`/api/v1/service-keys/${key.id}`);
    expect(request.request.method).toBe('DELETE');
    request.flush({ ...key, revokedAt: new Date().toISOString() });
    await sut.settle();

    expect(readableText(sut.root, 'tr.key .status')).toContain('Revoked');
    expect(sut.root.querySelector('tr.key .revoke')).toBeNull();
    expect(toastText()).toBe(
      'Revoked “Nightly reports”. Jobs using it are refused from now on.',
    );
  });
});
