import type { ConnectLinkDto, CreatedConnectLinkDto } from '@keeper/contracts';
import {
  readableText,
  readableTexts,
  renderConsole,
  RenderedConsole,
  textOf,
  toastText,
} from '../../testing/render-console';
import { ConnectLinksPage } from './connect-links.page';

function aLink(overrides: Partial<ConnectLinkDto> = {}): ConnectLinkDto {
  return {
    id: '3a1f0c9e-5b7d-4e21-b6f4-2d1c9e8a7b60',
    region: 'eu',
    label: 'Acme Outdoor',
    connectionId: null,
    state: 'open',
    createdBy: 'admin',
    createdAt: new Date(Date.now() - 3 * 3_600_000).toISOString(),
    expiresAt: new Date(Date.now() + 69 * 3_600_000).toISOString(),
    usedAt: null,
    revokedAt: null,
    resultConnectionId: null,
    ...overrides,
  };
}

const URL_SHOWN_ONCE =
  'http://localhost:3000/api/v1/connect/3q2-7wSECRETsecretSECRETsecretSECRETsecre';

describe(ConnectLinksPage.name, () => {
  async function render(links: ConnectLinkDto[]): Promise<RenderedConsole> {
    const sut = await renderConsole('/connect-links');
    sut.http.expectOne('/api/v1/connect-links').flush(links);
    await sut.settle();
    return sut;
  }

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

  async function type(
    sut: RenderedConsole,
    input: HTMLInputElement,
    value: string,
  ) {
    input.value = value;
    input.dispatchEvent(new Event('input'));
    await sut.settle();
  }

  it('says it is loading until the links arrive', async () => {
    const sut = await renderConsole('/connect-links');

    expect(textOf(sut.root, 'main [role="status"]')).toBe('Loading the links…');
  });

  it('lists each link with its state, region, creator and resulting connection; only open ones can be revoked', async () => {
    const sut = await render([
      aLink({ id: 'l3' }),
      aLink({
        id: 'l2',
        label: null,
        region: 'na',
        state: 'used',
        usedAt: new Date(Date.now() - 5 * 60_000).toISOString(),
        resultConnectionId: '6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12',
      }),
      aLink({ id: 'l1', state: 'expired', connectionId: 'c1' }),
    ]);

    expect(readableTexts(sut.root, 'table.links thead th')).toEqual([
      'Link',
      'Region',
      'State',
      'Created',
      'Expires',
      'Connection',
      'Actions',
    ]);
    const rows = Array.from(sut.root.querySelectorAll('tr.link'));
    expect(readableText(rows[0], '.name')).toBe('Acme Outdoor');
    expect(readableText(rows[0], '.state')).toBe('Open');
    expect(readableText(rows[0], '.revoke')).toBe('Revoke “Acme Outdoor”');
    expect(readableText(rows[1], '.name')).toBe('North America link');
    expect(readableText(rows[1], '.state')).toContain('Used');
    expect(readableText(rows[1], '.state')).toContain('5 minutes ago');
    expect(rows[1].querySelector('a')?.getAttribute('href')).toBe(
      '/connections/6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12',
    );
    expect(rows[1].querySelector('.revoke')).toBeNull();
    expect(readableText(rows[2], '.name')).toBe('Acme Outdoor reconnect');
    expect(readableText(rows[2], '.state')).toBe('Expired');
    expect(rows[2].querySelector('.revoke')).toBeNull();
  });

  it('makes a link and shows its URL once, with a copy button, until the admin says it is copied', async () => {
    const sut = await render([]);

    button(sut.root, 'New link').click();
    await sut.settle();
    dialog().querySelector<HTMLElement>('.region-eu input')?.click();
    await sut.settle();
    await type(
      sut,
      dialog().querySelector('input.label') as HTMLInputElement,
      '  Acme Outdoor ',
    );
    await type(
      sut,
      dialog().querySelector('input.hours') as HTMLInputElement,
      '24',
    );
    button(dialog(), 'Create link').click();
    const request = sut.http.expectOne('/api/v1/connect-links');
    expect(request.request.method).toBe('POST');
    expect(request.request.body).toEqual({
      region: 'eu',
      label: 'Acme Outdoor',
      expiresInHours: 24,
    });
    const created: CreatedConnectLinkDto = { ...aLink(), url: URL_SHOWN_ONCE };
    request.flush(created, { status: 201, statusText: 'Created' });
    await sut.settle();

    expect(readableText(dialog(), '[role="alert"]')).toContain(
      'You will not see this link again.',
    );
    expect(textOf(dialog(), 'code.url')).toBe(URL_SHOWN_ONCE);
    expect(dialog().querySelector('atk-copy-button')).not.toBeNull();

    button(dialog(), 'I have copied it').click();
    await sut.settle();
    expect(document.querySelector('mat-dialog-container')).toBeNull();
    expect(readableText(sut.root, 'tr.link .name')).toBe('Acme Outdoor');
    expect(document.body.textContent).not.toContain(URL_SHOWN_ONCE);
  });

  it('refuses an expiry outside 1 to 168 hours without asking the API', async () => {
    const sut = await render([]);

    button(sut.root, 'New link').click();
    await sut.settle();
    await type(
      sut,
      dialog().querySelector('input.hours') as HTMLInputElement,
      '200',
    );
    button(dialog(), 'Create link').click();
    await sut.settle();
    sut.http.expectNone('/api/v1/connect-links');
    expect(readableText(dialog(), '#create-link-error')).toContain('1 to 168');
  });

  it('revokes a link after asking, and shows it as revoked', async () => {
    const link = aLink();
    const sut = await render([link]);

    button(sut.root, 'Revoke').click();
    await sut.settle();
    expect(textOf(dialog(), 'h2')).toBe('Revoke the link “Acme Outdoor”?');
    button(dialog(), 'Cancel').click();
    await sut.settle();
    sut.http.expectNone(`/api/v1/connect-links/${link.id}`);

    button(sut.root, 'Revoke').click();
    await sut.settle();
    button(dialog(), 'Revoke').click();
    await sut.settle();
    const request = sut.http.expectOne(`/api/v1/connect-links/${link.id}`);
    expect(request.request.method).toBe('DELETE');
    request.flush({
      ...link,
      state: 'revoked',
      revokedAt: new Date().toISOString(),
    });
    await sut.settle();

    expect(readableText(sut.root, 'tr.link .state')).toContain('Revoked');
    expect(sut.root.querySelector('tr.link .revoke')).toBeNull();
    expect(toastText()).toBe('Revoked the link “Acme Outdoor”.');
  });
});
