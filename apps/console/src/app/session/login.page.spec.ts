import { TestBed } from '@angular/core/testing';
import { Router } from '@angular/router';
import type { ApiErrorDto } from '@keeper/contracts';
import {
  renderConsole,
  RenderedConsole,
  textOf,
} from '../../testing/render-console';
import { LoginPage } from './login.page';

describe(LoginPage.name, () => {
  async function renderLogin(returnUrl?: string): Promise<RenderedConsole> {
    const query = returnUrl
      ? `?returnUrl=${encodeURIComponent(returnUrl)}`
      : '';
    return renderConsole(`/login${query}`, { loggedIn: false });
  }

  function input(sut: RenderedConsole): HTMLInputElement {
    const element = sut.root.querySelector<HTMLInputElement>('input#password');
    if (!element) throw new Error('No password field');
    return element;
  }

  async function submit(sut: RenderedConsole, password: string): Promise<void> {
    const field = input(sut);
    field.value = password;
    field.dispatchEvent(new Event('input'));
    // jsdom has no implicit submission; pressing Enter in the field submits its form.
    sut.root.querySelector('form')?.requestSubmit();
    await sut.settle();
  }

  const failure = (statusCode: number, message: string): ApiErrorDto => ({
    statusCode,
    error: 'Error',
    message,
    correlationId: 'req-1',
  });

  it('asks for the admin password in a labelled field that password managers fill', async () => {
    const sut = await renderLogin();
    const field = input(sut);

    expect(textOf(sut.root, 'h1')).toBe('Log in to ads-token-keeper');
    expect(textOf(sut.root, 'mat-form-field mat-label')).toBe('Admin password');
    expect(sut.root.querySelector('label')?.getAttribute('for')).toBe(
      'password',
    );
    expect(field.type).toBe('password');
    expect(field.getAttribute('autocomplete')).toBe('current-password');
    expect(
      field
        .closest('form')
        ?.querySelector('button[type="submit"]')
        ?.textContent?.trim(),
    ).toBe('Log in');
    expect(
      sut.root.querySelector('#login-error')?.getAttribute('aria-live'),
    ).toBe('assertive');
    expect(document.activeElement).toBe(field);
  });

  it('shows the password on request', async () => {
    const sut = await renderLogin();
    const toggle = sut.root.querySelector<HTMLButtonElement>(
      'button[aria-label="Show password"]',
    );

    toggle?.click();
    await sut.settle();

    expect(input(sut).type).toBe('text');
    expect(toggle?.getAttribute('aria-label')).toBe('Hide password');
    expect(toggle?.getAttribute('aria-pressed')).toBe('true');
  });

  it('logs in and goes back to the page the admin was on', async () => {
    const sut = await renderLogin('/audit?type=refreshed');

    await submit(sut, 'correct horse');
    const request = sut.http.expectOne('/api/v1/session');
    expect(request.request.method).toBe('POST');
    expect(request.request.body).toEqual({ password: 'correct horse' });
    // Relative to the real clock: a fixed date here expires the session once that day has passed.
    const expiresAt = new Date(Date.now() + 12 * 3600_000).toISOString();
    request.flush(
      { authenticated: true, expiresAt },
      { status: 201, statusText: 'Created' },
    );
    await sut.settle();

    expect(TestBed.inject(Router).url).toBe('/audit?type=refreshed');
    expect(textOf(sut.root, 'main h1')).toBe('Audit');
  });

  it('goes to the Connections page when there is nowhere (or nowhere safe) to go back to', async () => {
    const sut = await renderLogin('//evil.example/');

    await submit(sut, 'correct horse');
    sut.http
      .expectOne('/api/v1/session')
      .flush({ authenticated: true, expiresAt: null });
    await sut.settle();

    expect(TestBed.inject(Router).url).toBe('/connections');
  });

  it('says so, and stays, when the password is wrong', async () => {
    const sut = await renderLogin('/system');

    await submit(sut, 'wrong');
    sut.http
      .expectOne('/api/v1/session')
      .flush(failure(401, 'That password is not right.'), {
        status: 401,
        statusText: 'Unauthorized',
      });
    await sut.settle();

    expect(textOf(sut.root, '#login-error span')).toBe(
      'That password is not right.',
    );
    expect(input(sut).getAttribute('aria-invalid')).toBe('true');
    expect(input(sut).getAttribute('aria-describedby')).toBe('login-error');
    expect(TestBed.inject(Router).url).toBe('/login?returnUrl=%2Fsystem');
    expect(
      sut.root.querySelector<HTMLButtonElement>('button[type="submit"]')
        ?.disabled,
    ).toBe(false);
  });

  it('says to wait, and for how long, when there were too many attempts', async () => {
    const sut = await renderLogin();

    await submit(sut, 'guess');
    sut.http
      .expectOne('/api/v1/session')
      .flush(
        failure(
          429,
          'Too many login attempts from this address: wait a minute and try again.',
        ),
        {
          status: 429,
          statusText: 'Too Many Requests',
          headers: { 'retry-after': '42' },
        },
      );
    await sut.settle();

    expect(textOf(sut.root, '#login-error span')).toBe(
      'Too many login attempts from this address: wait a minute and try again. You can try again in 42 s.',
    );
  });

  it('says the API did not answer when it is down', async () => {
    const sut = await renderLogin();

    await submit(sut, 'pw');
    sut.http
      .expectOne('/api/v1/session')
      .error(new ProgressEvent('error'), { status: 0 });
    await sut.settle();

    expect(textOf(sut.root, '#login-error span')).toBe(
      'The API did not answer. Check that it is running, then try again.',
    );
  });

  it('asks for a password before sending an empty one', async () => {
    const sut = await renderLogin();

    await submit(sut, '');

    sut.http.expectNone('/api/v1/session');
    expect(textOf(sut.root, '#login-error span')).toBe(
      'Enter the admin password.',
    );
  });

  it('sends one request while the first is under way', async () => {
    const sut = await renderLogin();

    await submit(sut, 'pw');
    sut.root.querySelector('form')?.requestSubmit();
    await sut.settle();

    expect(sut.http.match('/api/v1/session')).toHaveLength(1);
    expect(
      sut.root.querySelector<HTMLButtonElement>('button[type="submit"]')
        ?.disabled,
    ).toBe(true);
    expect(
      sut.root
        .querySelector('button[type="submit"] mat-progress-spinner')
        ?.getAttribute('aria-label'),
    ).toBe('Logging in');
  });
});
