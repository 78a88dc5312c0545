import { LiveAnnouncer } from '@angular/cdk/a11y';
import { Clipboard } from '@angular/cdk/clipboard';
import { TestBed } from '@angular/core/testing';
import { MatSelectHarness } from '@angular/material/select/testing';
import { Router } from '@angular/router';
import type {
  ApiErrorDto,
  ConnectionDto,
  ConnectOutcome,
} from '@keeper/contracts';
import { aConnection } from '../../testing/fixtures';
import {
  readableText,
  readableTexts,
  renderConsole,
  RenderedConsole,
  textOf,
  toastText,
} from '../../testing/render-console';
import { ConnectionPage } from './connection.page';

describe(ConnectionPage.name, () => {
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

  /** The connection's page, its `GET /connections/:id` answered with `connection`. */
  async function render(
    connection: ConnectionDto,
    query = '',
  ): Promise<RenderedConsole> {
    const sut = await renderConsole(`/connections/${connection.id}${query}`);
    sut.http
      .expectOne(`/api/v1/connections/${connection.id}`)
      .flush(connection);
    await sut.settle();
    return sut;
  }

  function card(sut: RenderedConsole, label: string): HTMLElement {
    const found = sut.root.querySelector<HTMLElement>('atk-connection-card');
    if (!found || textOf(found, 'h2') !== label) {
      throw new Error(`No card for ${label}`);
    }
    return found;
  }

  function button(root: Element, text: string): HTMLButtonElement {
    const found = Array.from(
      root.querySelectorAll<HTMLButtonElement>('button'),
    ).find((element) =>
      element.textContent?.replace(/\s+/g, ' ').trim().endsWith(text),
    );
    if (!found) throw new Error(`No button "${text}"`);
    return found;
  }

  const apiError = (statusCode: number, message: string): ApiErrorDto => ({
    statusCode,
    error: 'Error',
    message,
    correlationId: 'req-9e21',
  });

  it('shows a skeleton while the connection loads, and a way back to the table', async () => {
    const sut = await renderConsole(`/connections/${acme.id}`);

    expect(textOf(sut.root, 'main [role="status"]')).toBe(
      'Loading the connection…',
    );
    expect(sut.root.querySelector('main a.back')?.getAttribute('href')).toBe(
      '/connections',
    );
    expect(textOf(sut.root, 'main h1')).toBe('Connection');
  });

  it('says when there is no such connection', async () => {
    const sut = await renderConsole(`/connections/${acme.id}`);
    sut.http
      .expectOne(`/api/v1/connections/${acme.id}`)
      .flush(apiError(404, 'No connection with this id.'), {
        status: 404,
        statusText: 'Not Found',
      });
    await sut.settle();

    expect(textOf(sut.root, 'atk-empty-state h2')).toBe('No such connection');
    expect(() => button(sut.root, 'Try again')).toThrow();
    expect(
      sut.root
        .querySelector('atk-empty-state a[href="/connections"]')
        ?.textContent?.trim(),
    ).toBe('Back to the connections');
  });

  it('offers to try again when the connection did not load', async () => {
    const sut = await renderConsole(`/connections/${globex.id}`);
    sut.http
      .expectOne(`/api/v1/connections/${globex.id}`)
      .flush(apiError(500, 'Internal server error'), {
        status: 500,
        statusText: 'Internal Server Error',
      });
    await sut.settle();
    expect(textOf(sut.root, 'atk-empty-state h2')).toBe(
      'The connection did not load',
    );

    button(sut.root, 'Try again').click();
    await sut.settle();
    sut.http.expectOne(`/api/v1/connections/${globex.id}`).flush(globex);
    await sut.settle();

    expect(card(sut, 'Globex (EU)')).toBeTruthy();
  });

  describe('the connection', () => {
    it('shows its label, region and status in words', async () => {
      const sut = await render(globex);
      const globexCard = card(sut, 'Globex (EU)');

      expect(readableText(globexCard, 'atk-status-chip')).toBe(
        'Status: Needs re-auth',
      );
      expect(readableText(globexCard, '.region')).toBe('Europe');
      expect(textOf(globexCard, '.meaning')).toBe(
        'Amazon no longer accepts the refresh token; only reconnecting helps.',
      );
      expect(globexCard.getAttribute('aria-labelledby')).toBe(
        `connection-label-${globex.id}`,
      );
    });

    it("counts down to the access token's expiry with a bar over its lifetime", async () => {
      const sut = await render(acme);
      const acmeCard = card(sut, 'Acme Outdoor (NA)');

      expect(textOf(acmeCard, 'atk-token-countdown .line')).toMatch(
        /^Access token expires in (29:5\d|30:00)$/,
      );
      const bar = acmeCard.querySelector(
        'atk-token-countdown mat-progress-bar',
      );
      expect(bar?.getAttribute('aria-valuenow')).toBe('50');
    });

    it('says "No access token" without one', async () => {
      const sut = await render(globex);

      expect(textOf(card(sut, 'Globex (EU)'), 'atk-token-countdown')).toBe(
        'No access token',
      );
    });

    it('tells when it refreshed and refreshes next, and its failures and last error in words', async () => {
      const facts = async (connection: ConnectionDto) =>
        readableTexts(
          card(await render(connection), connection.label),
          '.facts > div',
        );

      expect(await facts(acme)).toEqual([
        expect.stringMatching(/^Last refresh 30 minutes ago \(.+\)$/),
        expect.stringMatching(/^Next refresh in 2[45] minutes \(.+\)$/),
        'Failures in a row None',
      ]);
      TestBed.resetTestingModule();
      expect(await facts(globex)).toEqual([
        expect.stringMatching(/^Last refresh 30 minutes ago/),
        'Next refresh Not scheduled',
        'Failures in a row 3',
        'Last error Amazon said the refresh token is no longer valid (invalid_grant).',
      ]);
    });

    it('lists the advertising profiles when their panel is opened', async () => {
      const sut = await render(acme);
      const acmeCard = card(sut, 'Acme Outdoor (NA)');

      expect(textOf(acmeCard, 'mat-expansion-panel-header')).toBe(
        '2 advertising profiles',
      );
      expect(acmeCard.querySelector('.profile-list')).toBeNull();

      acmeCard
        .querySelector<HTMLElement>('mat-expansion-panel-header')
        ?.click();
      await sut.settle();

      expect(readableTexts(acmeCard, '.profile-list li')).toEqual([
        'Country US Acme Outdoor Seller Profile id 3421895712345678',
        'Country CA Acme Outdoor Canada Vendor Profile id 3421895712349999',
      ]);
    });

    it('says when it has no profile yet', async () => {
      const sut = await render({ ...globex, profilesReadAt: null });

      expect(textOf(card(sut, 'Globex (EU)'), '.no-profiles')).toBe(
        'No advertising profiles found yet.',
      );
      expect(readableText(card(sut, 'Globex (EU)'), 'atk-profiles-read')).toBe(
        'Profiles not read from Amazon yet',
      );
    });

    it('counts the lost profiles and says when the profiles were read', async () => {
      const [us, ca] = acme.profiles;
      const sut = await render({
        ...acme,
        profiles: [us, { ...ca, lostAt: new Date().toISOString() }],
      });
      const acmeCard = card(sut, 'Acme Outdoor (NA)');

      expect(textOf(acmeCard, 'mat-expansion-panel-header')).toBe(
        '2 advertising profiles, 1 lost',
      );
      expect(readableText(acmeCard, 'atk-profiles-read .when')).toMatch(
        /^Profiles read 30 minutes ago \(.+\)$/,
      );
    });

    it.each<[string, ConnectionDto, string[]]>([
      [
        'active',
        acme,
        [
          'Refresh now',
          'Use from your jobs',
          'Send a reconnect link',
          'Disconnect',
        ],
      ],
      [
        'needs_reauth',
        globex,
        [
          'Use from your jobs',
          'Reconnect',
          'Send a reconnect link',
          'Disconnect',
        ],
      ],
      [
        'disconnected',
        { ...acme, status: 'disconnected', accessTokenExpiresAt: null },
        ['Reconnect'],
      ],
    ])('offers the actions that fit %s', async (_, connection, actions) => {
      const sut = await render(connection);

      expect(
        readableTexts(card(sut, connection.label), '.actions button'),
      ).toEqual(actions);
    });
  });

  describe('back from Amazon', () => {
    it.each<[ConnectOutcome, string]>([
      [
        'connected',
        'Connected “Acme Outdoor (NA)”. Its tokens are now kept fresh.',
      ],
      [
        'reconnected',
        'Reconnected “Acme Outdoor (NA)”. Its tokens are fresh again.',
      ],
    ])(
      'comes here from the table after %s, says so once, highlights it, and clears it from the address',
      async (outcome, toast) => {
        const sut = await renderConsole(
          `/connections?connect=${outcome}&connectionId=${acme.id}`,
        );
        sut.http.expectNone('/api/v1/connections');
        sut.http.expectOne(`/api/v1/connections/${acme.id}`).flush(acme);
        await sut.settle();

        expect(toastText()).toBe(toast);
        expect(TestBed.inject(Router).url).toBe(`/connections/${acme.id}`);
        const acmeCard = card(sut, 'Acme Outdoor (NA)');
        expect(acmeCard.classList).toContain('highlighted');
        expect(readableText(acmeCard, '.just')).toBe(`Just ${outcome}`);
      },
    );

    it('still says it when the connection did not load', async () => {
      const sut = await renderConsole(
        `/connections?connect=connected&connectionId=${acme.id}`,
      );
      sut.http
        .expectOne(`/api/v1/connections/${acme.id}`)
        .flush(apiError(503, 'Database down'), {
          status: 503,
          statusText: 'Service Unavailable',
        });
      await sut.settle();

      expect(toastText()).toBe(
        'Amazon account connected. Its tokens are now kept fresh.',
      );
    });
  });

  describe('Refresh now', () => {
    it('shows a spinner while it runs, then the new expiry and a toast with the result', async () => {
      const sut = await render(acme);
      const acmeCard = card(sut, 'Acme Outdoor (NA)');

      button(acmeCard, 'Refresh now').click();
      await sut.settle();

      const request = sut.http.expectOne(
        `/api/v1/connections/${acme.id}/refresh`,
      );
      expect(request.request.method).toBe('POST');
      expect(button(acmeCard, 'Refresh now').disabled).toBe(true);
      expect(
        acmeCard.querySelector('.refresh mat-progress-spinner'),
      ).not.toBeNull();
      expect(textOf(acmeCard, 'atk-token-countdown .line')).toBe(
        'Access token: refreshing…',
      );

      const expiresAt = new Date(Date.now() + 3600_000).toISOString();
      request.flush({
        connection: {
          ...acme,
          accessTokenExpiresAt: expiresAt,
          lastRefreshedAt: new Date().toISOString(),
        },
        durationMs: 212,
      });
      await sut.settle();

      expect(toastText()).toMatch(
        /^Refreshed “Acme Outdoor \(NA\)” in 212 ms\. The new access token lasts until .+\.$/,
      );
      expect(textOf(acmeCard, 'atk-token-countdown .line')).toMatch(
        /^Access token expires in (59:5\d|60:00)$/,
      );
      expect(button(acmeCard, 'Refresh now').disabled).toBe(false);
    });

    it("toasts the failure with Amazon's reason and the correlation id, and shows the new status", async () => {
      const sut = await render(acme);
      const acmeCard = card(sut, 'Acme Outdoor (NA)');

      button(acmeCard, 'Refresh now').click();
      await sut.settle();
      sut.http
        .expectOne(`/api/v1/connections/${acme.id}/refresh`)
        .flush(
          apiError(
            409,
            'Amazon no longer accepts the refresh token; reconnect the account.',
          ),
          {
            status: 409,
            statusText: 'Conflict',
          },
        );
      await sut.settle();

      expect(toastText()).toBe(
        'Refreshing “Acme Outdoor (NA)” failed: Amazon no longer accepts the refresh token; reconnect the account. (correlation id req-9e21)',
      );
      sut.http
        .expectOne(`/api/v1/connections/${acme.id}`)
        .flush({ ...acme, status: 'needs_reauth', failureCount: 1 });
      await sut.settle();

      expect(readableText(acmeCard, 'atk-status-chip')).toBe(
        'Status: Needs re-auth',
      );
      expect(button(acmeCard, 'Reconnect')).toBeTruthy();
    });
  });

  describe('Refresh profiles', () => {
    const agency = {
      ...acme.profiles[0],
      profileId: '4000000000000001',
      accountName: 'Acme Agency',
      accountType: 'agency',
    };

    it('shows a spinner while Amazon is read, then the new profiles and a toast with what was found', async () => {
      const sut = await render(acme);
      const acmeCard = card(sut, 'Acme Outdoor (NA)');

      button(acmeCard, 'Refresh profiles').click();
      await sut.settle();

      const request = sut.http.expectOne(
        `/api/v1/connections/${acme.id}/profiles/refresh`,
      );
      expect(request.request.method).toBe('POST');
      const refreshProfiles = button(acmeCard, 'Refresh profiles');
      expect(refreshProfiles.disabled).toBe(true);
      expect(
        refreshProfiles.querySelector('mat-progress-spinner'),
      ).not.toBeNull();
      expect(refreshProfiles.getAttribute('aria-describedby')).toBe(
        `connection-label-${acme.id}`,
      );

      request.flush({
        ...acme,
        profiles: [
          acme.profiles[0],
          { ...acme.profiles[1], lostAt: new Date().toISOString() },
          agency,
        ],
        dspAdvertisers: [
          {
            advertiserId: '5830000000001',
            name: 'Contoso Retail',
            countryCode: 'US',
            currency: 'USD',
            timezone: 'America/New_York',
            profileId: agency.profileId,
          },
        ],
        profilesReadAt: new Date().toISOString(),
      });
      await sut.settle();

      expect(toastText()).toBe(
        'Read the profiles of “Acme Outdoor (NA)”: 2 profiles, 1 lost, 1 DSP advertiser.',
      );
      expect(button(acmeCard, 'Refresh profiles').disabled).toBe(false);
      expect(readableText(acmeCard, 'atk-profiles-read .when')).toMatch(
        /^Profiles read just now/,
      );
      expect(textOf(acmeCard, 'mat-expansion-panel-header')).toBe(
        '3 advertising profiles, 1 lost',
      );
      acmeCard
        .querySelector<HTMLElement>('mat-expansion-panel-header')
        ?.click();
      await sut.settle();
      expect(readableTexts(acmeCard, '.dsp-list li')).toEqual([
        'Country US Contoso Retail Advertiser id 5830000000001 under profile 4000000000000001 (Acme Agency)',
      ]);
    });

    it("toasts the failure with the API's reason and the correlation id, and reads the connection again", async () => {
      const sut = await render(acme);
      const acmeCard = card(sut, 'Acme Outdoor (NA)');

      button(acmeCard, 'Refresh profiles').click();
      await sut.settle();
      sut.http
        .expectOne(`/api/v1/connections/${acme.id}/profiles/refresh`)
        .flush(apiError(502, 'Amazon did not answer the profiles request.'), {
          status: 502,
          statusText: 'Bad Gateway',
        });
      await sut.settle();

      expect(toastText()).toBe(
        'Reading the profiles of “Acme Outdoor (NA)” failed: Amazon did not answer the profiles request. (correlation id req-9e21)',
      );
      sut.http
        .expectOne(`/api/v1/connections/${acme.id}`)
        .flush({ ...acme, status: 'needs_reauth' });
      await sut.settle();

      expect(readableText(acmeCard, 'atk-status-chip')).toBe(
        'Status: Needs re-auth',
      );
      // Reading profiles takes a token the connection no longer has.
      expect(() => button(acmeCard, 'Refresh profiles')).toThrow();
    });
  });

  it('sends a reconnect link for the connection: the dialog names it and the link is made for it', async () => {
    const sut = await render(globex);

    button(card(sut, 'Globex (EU)'), 'Send a reconnect link').click();
    await sut.settle();
    const dialog = document.querySelector<HTMLElement>('mat-dialog-container');
    if (!dialog) throw new Error('No dialog');
    expect(textOf(dialog, 'h2')).toBe('New reconnect link');
    expect(readableText(dialog, '.target')).toContain('Globex (EU)');
    expect(dialog.querySelector('mat-radio-group')).toBeNull();
    button(dialog, 'Create link').click();
    const request = sut.http.expectOne('/api/v1/connect-links');
    expect(request.request.body).toEqual({
      region: 'eu',
      label: 'Globex (EU)',
      expiresInHours: 72,
      connectionId: globex.id,
    });
  });

  describe('Use from your jobs', () => {
    async function openDialog(
      sut: RenderedConsole,
      label = 'Acme Outdoor (NA)',
    ): Promise<HTMLElement> {
      const trigger = button(card(sut, label), 'Use from your jobs');
      // As a real click or Enter would: the dialog gives the focus back to it when closed.
      trigger.focus();
      trigger.click();
      await sut.settle();
      const dialog = document.querySelector<HTMLElement>(
        'mat-dialog-container',
      );
      if (!dialog) throw new Error('No dialog');
      return dialog;
    }

    const base = `http://localhost/api/v1/connections/${acme.id}/ads`;

    it("shows the base URL on the console's origin, the headers and a curl with the first profile and no key", async () => {
      const sut = await render(acme);

      const dialog = await openDialog(sut);

      expect(textOf(dialog, 'h2')).toBe(
        'Use “Acme Outdoor (NA)” from your jobs',
      );
      expect(
        dialog.getAttribute('aria-labelledby') ??
          dialog
            .querySelector('[role="dialog"]')
            ?.getAttribute('aria-labelledby'),
      ).toBe(dialog.querySelector('h2')?.id);
      expect(textOf(dialog, '.base-url')).toBe(base);
      expect(dialog.querySelector('.headers')?.textContent).toBe(
        'Authorization: Bearer <your service key>\nAmazon-Advertising-API-Scope: 3421895712345678',
      );
      const curl = dialog.querySelector('.curl')?.textContent;
      expect(curl).toBe(
        [
          'curl -H "Authorization: Bearer $KEEPER_SERVICE_KEY"',
          '  -H "Amazon-Advertising-API-Scope: 3421895712345678"',
          `  ${base}/v2/profiles`,
        ].join(' \\\n'),
      );
      expect(textOf(dialog, '.what')).toContain(
        "adds Amazon's ClientId and this connection's access token, refreshes the token and retries once on a 401, waits out a 429, and passes report download redirects through",
      );
      // Screen readers start at the title.
      expect(document.activeElement).toBe(dialog.querySelector('h2'));
    });

    it('puts the profile picked in the headers and the curl, and offers no lost profile', async () => {
      const [us, ca] = acme.profiles;
      const third = {
        ...us,
        profileId: '3421895712340000',
        countryCode: 'MX',
        accountName: 'Acme Outdoor Mexico',
      };
      const sut = await render({
        ...acme,
        profiles: [{ ...us, lostAt: new Date().toISOString() }, ca, third],
      });
      await openDialog(sut);
      const select = await sut.documentLoader.getHarness(
        MatSelectHarness.with({ selector: '.profile-select' }),
      );

      expect(await select.getValueText()).toBe(
        'CA · Acme Outdoor Canada (Vendor) · 3421895712349999',
      );
      await select.open();
      expect((await select.getOptions()).length).toBe(2);
      await select.clickOptions({ text: /Mexico/ });
      await sut.settle();

      const dialog = document.querySelector<HTMLElement>(
        'mat-dialog-container',
      );
      const curl = dialog?.querySelector('.curl')?.textContent ?? '';
      expect(curl).toContain(
        '-H "Amazon-Advertising-API-Scope: 3421895712340000"',
      );
      expect(curl).toContain(`/connections/${acme.id}/ads/v2/profiles`);
      expect(curl).not.toContain(us.profileId);
      expect(dialog?.querySelector('.headers')?.textContent).toContain(
        'Amazon-Advertising-API-Scope: 3421895712340000',
      );
    });

    it('leaves the scope out of the curl when no profile is left to pick', async () => {
      const sut = await render({ ...acme, profiles: [] });

      const dialog = await openDialog(sut);

      expect(dialog.querySelector('.profile-select')).toBeNull();
      expect(textOf(dialog, '.no-profile')).toContain(
        'This connection reaches no profile yet.',
      );
      expect(dialog.querySelector('.curl')?.textContent).toBe(
        `curl -H "Authorization: Bearer $KEEPER_SERVICE_KEY" \\\n  ${base}/v2/profiles`,
      );
    });

    it('copies the base URL and the curl, and says so', async () => {
      const sut = await render(acme);
      const dialog = await openDialog(sut);
      const copy = jest
        .spyOn(TestBed.inject(Clipboard), 'copy')
        .mockReturnValue(true);
      const announce = jest.spyOn(TestBed.inject(LiveAnnouncer), 'announce');
      const copyButtons = () => readableTexts(dialog, 'atk-copy-button');
      const [copyBase, copyCurl] = Array.from(
        dialog.querySelectorAll<HTMLButtonElement>('atk-copy-button button'),
      );

      expect(copyButtons()).toEqual([
        'Copy the base URL',
        'Copy the curl example',
      ]);
      copyBase.click();
      await sut.settle();
      expect(copy).toHaveBeenLastCalledWith(base);
      expect(copyButtons()).toEqual([
        'Copied the base URL',
        'Copy the curl example',
      ]);
      expect(announce).toHaveBeenLastCalledWith('Copied the base URL.');

      copyCurl.click();
      await sut.settle();
      expect(copy).toHaveBeenLastCalledWith(
        dialog.querySelector('.curl')?.textContent,
      );
      expect(copyButtons()[1]).toBe('Copied the curl example');
      expect(announce).toHaveBeenLastCalledWith('Copied the curl example.');
    });

    it('says when copying failed', async () => {
      const sut = await render(acme);
      const dialog = await openDialog(sut);
      jest.spyOn(TestBed.inject(Clipboard), 'copy').mockReturnValue(false);
      const announce = jest.spyOn(TestBed.inject(LiveAnnouncer), 'announce');

      dialog
        .querySelector<HTMLButtonElement>('atk-copy-button button')
        ?.click();
      await sut.settle();

      expect(readableText(dialog, 'atk-copy-button')).toBe(
        'Copy failed the base URL',
      );
      expect(announce).toHaveBeenLastCalledWith(
        'Could not copy the base URL: select it and copy it by hand.',
        'assertive',
      );
    });

    it('closes on Escape and gives the focus back to the button that opened it', async () => {
      const sut = await render(acme);
      const dialog = await openDialog(sut);
      expect(dialog.contains(document.activeElement)).toBe(true);

      document.body.dispatchEvent(
        new KeyboardEvent('keydown', {
          key: 'Escape',
          keyCode: 27,
          bubbles: true,
        }),
      );
      await sut.settle();

      expect(document.querySelector('mat-dialog-container')).toBeNull();
      expect(document.activeElement).toBe(
        button(card(sut, 'Acme Outdoor (NA)'), 'Use from your jobs'),
      );
    });

    it('is not offered for a disconnected connection', async () => {
      const sut = await render({
        ...acme,
        status: 'disconnected',
        accessTokenExpiresAt: null,
      });

      expect(() =>
        button(card(sut, 'Acme Outdoor (NA)'), 'Use from your jobs'),
      ).toThrow();
    });
  });

  describe('Reconnect', () => {
    it("starts the connect flow for the connection's region", async () => {
      const sut = await render(globex);

      button(card(sut, 'Globex (EU)'), 'Reconnect').click();

      expect(sut.externalNavigations).toEqual([
        '/api/v1/auth/amazon/start?region=eu',
      ]);
    });
  });

  describe('renaming', () => {
    async function startRenaming(
      sut: RenderedConsole,
    ): Promise<HTMLInputElement> {
      card(sut, 'Acme Outdoor (NA)')
        .querySelector<HTMLButtonElement>(
          'button[aria-label="Rename “Acme Outdoor (NA)”"]',
        )
        ?.click();
      await sut.settle();
      const input = sut.root.querySelector<HTMLInputElement>(
        'atk-connection-card input[name="label"]',
      );
      if (!input) throw new Error('No label field');
      return input;
    }

    async function type(
      sut: RenderedConsole,
      input: HTMLInputElement,
      text: string,
    ): Promise<void> {
      input.value = text;
      input.dispatchEvent(new Event('input'));
      await sut.settle();
    }

    it('saves the new label on Enter and says so', async () => {
      const sut = await render(acme);
      const input = await startRenaming(sut);
      expect(input.value).toBe('Acme Outdoor (NA)');

      await type(sut, input, '  Acme US  ');
      input.closest('form')?.requestSubmit();
      await sut.settle();
      const request = sut.http.expectOne(`/api/v1/connections/${acme.id}`);
      expect(request.request.method).toBe('PATCH');
      expect(request.request.body).toEqual({ label: 'Acme US' });
      request.flush({ ...acme, label: 'Acme US' });
      await sut.settle();

      expect(card(sut, 'Acme US')).toBeTruthy();
      expect(toastText()).toBe('Renamed to “Acme US”.');
    });

    it('cancels on Escape without asking the API', async () => {
      const sut = await render(acme);
      const input = await startRenaming(sut);

      await type(sut, input, 'Something else');
      input.dispatchEvent(
        new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }),
      );
      await sut.settle();

      sut.http.expectNone(`/api/v1/connections/${acme.id}`);
      expect(textOf(card(sut, 'Acme Outdoor (NA)'), 'h2')).toBe(
        'Acme Outdoor (NA)',
      );
      // Back on the button that started it, for keyboard users.
      expect(document.activeElement?.getAttribute('aria-label')).toBe(
        'Rename “Acme Outdoor (NA)”',
      );
    });

    it('refuses an empty or too long label before asking the API', async () => {
      const sut = await render(acme);
      const input = await startRenaming(sut);

      await type(sut, input, '   ');
      input.closest('form')?.requestSubmit();
      await sut.settle();
      expect(textOf(sut.root, '.label-error')).toBe(
        'A label needs at least one character.',
      );
      expect(input.getAttribute('aria-invalid')).toBe('true');

      await type(sut, input, 'x'.repeat(101));
      input.closest('form')?.requestSubmit();
      await sut.settle();
      expect(textOf(sut.root, '.label-error')).toBe(
        'A label has at most 100 characters.',
      );

      sut.http.expectNone(`/api/v1/connections/${acme.id}`);
    });
  });

  describe('Disconnect', () => {
    async function openDialog(sut: RenderedConsole): Promise<HTMLElement> {
      button(card(sut, 'Acme Outdoor (NA)'), 'Disconnect').click();
      await sut.settle();
      const dialog = document.querySelector<HTMLElement>(
        'mat-dialog-container',
      );
      if (!dialog) throw new Error('No dialog');
      return dialog;
    }

    it('asks first, saying what is erased and what is kept', async () => {
      const sut = await render(acme);

      const dialog = await openDialog(sut);

      expect(textOf(dialog, 'h2')).toBe('Disconnect “Acme Outdoor (NA)”?');
      expect(textOf(dialog, 'mat-dialog-content')).toContain(
        'Its access token and refresh token are erased.',
      );
      expect(textOf(dialog, 'mat-dialog-content')).toContain(
        'Its audit trail is kept.',
      );
    });

    it('does nothing when cancelled', async () => {
      const sut = await render(acme);

      button(await openDialog(sut), 'Cancel').click();
      await sut.settle();

      sut.http.expectNone(`/api/v1/connections/${acme.id}`);
      expect(document.querySelector('mat-dialog-container')).toBeNull();
      expect(
        readableText(card(sut, 'Acme Outdoor (NA)'), 'atk-status-chip'),
      ).toBe('Status: Active');
    });

    it('disconnects once confirmed and shows the connection as disconnected', async () => {
      const sut = await render(acme);

      button(await openDialog(sut), 'Disconnect').click();
      await sut.settle();
      const request = sut.http.expectOne(`/api/v1/connections/${acme.id}`);
      expect(request.request.method).toBe('DELETE');
      request.flush({
        ...acme,
        status: 'disconnected',
        accessTokenExpiresAt: null,
        nextRefreshAt: null,
      });
      await sut.settle();

      const acmeCard = card(sut, 'Acme Outdoor (NA)');
      expect(readableText(acmeCard, 'atk-status-chip')).toBe(
        'Status: Disconnected',
      );
      expect(textOf(acmeCard, 'atk-token-countdown')).toBe('No access token');
      expect(toastText()).toBe(
        'Disconnected “Acme Outdoor (NA)”. Its tokens are erased; its audit trail is kept.',
      );
    });
  });

  describe('live updates', () => {
    it('applies the changes the server sends to this connection, and ignores the others', async () => {
      const sut = await render(acme);
      sut.eventSources.latest.open();

      sut.eventSources.latest.send({
        type: 'connection.changed',
        connection: { ...globex, label: 'Not this one' },
      });
      sut.eventSources.latest.send({
        type: 'connection.changed',
        connection: {
          ...acme,
          status: 'degraded',
          failureCount: 2,
          lastError: 'Amazon timed out.',
        },
      });
      await sut.settle();

      const acmeCard = card(sut, 'Acme Outdoor (NA)');
      expect(readableText(acmeCard, 'atk-status-chip')).toBe(
        'Status: Degraded',
      );
      expect(textOf(acmeCard, '.last-error')).toBe('Amazon timed out.');
    });

    it('says so when the connection is removed', async () => {
      const sut = await render(acme);
      sut.eventSources.latest.open();

      sut.eventSources.latest.send({
        type: 'connection.removed',
        connectionId: acme.id,
      });
      await sut.settle();

      expect(textOf(sut.root, '.removed')).toBe(
        'This connection was removed; what is shown is how it was last.',
      );
    });

    it('reads the connection again without a toast while the stream is down', async () => {
      const sut = await render(acme);

      sut.eventSources.latest.fail();
      await sut.settle();
      sut.http
        .expectOne(`/api/v1/connections/${acme.id}`)
        .flush(apiError(503, 'Database down'), {
          status: 503,
          statusText: 'Service Unavailable',
        });
      await sut.settle();

      expect(toastText()).toBeNull();
      expect(card(sut, 'Acme Outdoor (NA)')).toBeTruthy();
    });
  });
});
