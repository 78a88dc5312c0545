import type { CreatedServiceKeyDto, ServiceKeyDto } from '@keeper/contracts';
import { aConnection } from '../../testing/fixtures';
import {
  readableText,
  readableTexts,
  renderConsole,
  RenderedConsole,
  textOf,
  toastText,
} from '../../testing/render-console';
import { connectionsOf } from './service-keys.api';
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
  async function render(
    keys: ServiceKeyDto[],
    connections: object = [acme, globex],
  ): Promise<RenderedConsole> {
    const sut = await renderConsole('/service-keys');
    sut.http.expectOne('/api/v1/service-keys').flush(keys);
    sut.http.expectOne('/api/v1/connections').flush(connections);
    await sut.settle();
    return sut;
  }

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

  it('reads the connections from a page of them too ({ items })', () => {
    expect(connectionsOf({ items: [acme] }).map((c) => c.label)).toEqual([
      'Acme Outdoor (NA)',
    ]);
    expect(connectionsOf([globex]).map((c) => c.label)).toEqual([
      'Globex (EU)',
    ]);
    expect(connectionsOf(null)).toEqual([]);
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

  it('limits a key to connections found by a search', async () => {
    const sut = await render([]);

    button(sut.root, 'New key').click();
    await sut.settle();
    await type(sut, inDialog<HTMLInputElement>('input.name'), 'Globex job');
    inDialog<HTMLElement>('.scope-chosen input').click();
    await sut.settle();
    expect(readableTexts(dialog(), '.choice label')).toHaveLength(2);
    await type(sut, inDialog<HTMLInputElement>('input.search'), 'glob');
    expect(textOf(dialog(), '.picker .hint')).toBe('1 connection.');
    inDialog<HTMLInputElement>('.choice input').click();
    await sut.settle();
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
