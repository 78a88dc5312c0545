import { provideHttpClient } from '@angular/common/http';
import {
  HttpTestingController,
  provideHttpClientTesting,
} from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { provideRouter, Router } from '@angular/router';
import type { SessionDto } from '@keeper/contracts';
import {
  safeReturnUrl,
  SessionService,
  type SessionState,
} from './session.service';

describe(safeReturnUrl.name, () => {
  it.each([
    ['/audit?type=refreshed', '/audit?type=refreshed'],
    ['/connections/abc', '/connections/abc'],
    [undefined, '/connections'],
    ['', '/connections'],
    ['https://evil.example/', '/connections'],
    ['//evil.example/', '/connections'],
    ['/\\evil.example', '/connections'],
    ['/login', '/connections'],
    ['/login?returnUrl=%2Faudit', '/connections'],
  ])('sends %p to %p', (returnUrl, expected) => {
    expect(safeReturnUrl(returnUrl)).toBe(expected);
  });
});

describe(SessionService.name, () => {
  let sut: SessionService;
  let api: HttpTestingController;
  let router: Router;

  beforeEach(() => {
    TestBed.configureTestingModule({
      providers: [
        provideHttpClient(),
        provideHttpClientTesting(),
        provideRouter([]),
      ],
    });
    sut = TestBed.inject(SessionService);
    api = TestBed.inject(HttpTestingController);
    router = TestBed.inject(Router);
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  function check(): SessionState[] {
    const states: SessionState[] = [];
    sut.check().subscribe((state) => states.push(state));
    return states;
  }

  it('asks the API once, then knows', () => {
    const first = check();
    api
      .expectOne('/api/v1/session')
      .flush({ authenticated: true, expiresAt: null } satisfies SessionDto);

    const second = check();

    api.expectNone('/api/v1/session');
    expect([first, second]).toEqual([['in'], ['in']]);
    expect(sut.loggedIn()).toBe(true);
  });

  it('does not know, and asks again next time, when the API does not answer', () => {
    const first = check();
    api
      .expectOne('/api/v1/session')
      .error(new ProgressEvent('error'), { status: 0 });

    const second = check();
    api
      .expectOne('/api/v1/session')
      .flush({ authenticated: false, expiresAt: null });

    expect([first, second]).toEqual([['unknown'], ['out']]);
  });

  it('logs in with the password and knows the admin is in', () => {
    sut.login('correct horse').subscribe();

    const request = api.expectOne('/api/v1/session');
    expect(request.request.method).toBe('POST');
    expect(request.request.body).toEqual({ password: 'correct horse' });
    request.flush({ authenticated: true, expiresAt: null });

    expect(sut.loggedIn()).toBe(true);
  });

  it('logs out: tells the API and shows the login page', () => {
    const navigate = jest
      .spyOn(router, 'navigateByUrl')
      .mockResolvedValue(true);
    sut.login('pw').subscribe();
    api
      .expectOne('/api/v1/session')
      .flush({ authenticated: true, expiresAt: null });

    sut.logout();

    expect(api.expectOne('/api/v1/session').request.method).toBe('DELETE');
    expect(sut.loggedIn()).toBe(false);
    expect(navigate).toHaveBeenCalledWith('/login');
  });

  it('goes to the login page, back to this page after, when the session runs out', () => {
    jest.useFakeTimers({ now: Date.parse('2026-11-24T14:00:00Z') });
    jest.spyOn(router, 'url', 'get').mockReturnValue('/connections?x=1');
    const navigate = jest.spyOn(router, 'navigate').mockResolvedValue(true);
    sut.login('pw').subscribe();
    api
      .expectOne('/api/v1/session')
      .flush({ authenticated: true, expiresAt: '2026-11-24T14:10:00.000Z' });

    jest.advanceTimersByTime(10 * 60_000);
    api.expectNone('/api/v1/session');
    jest.advanceTimersByTime(1000);
    api
      .expectOne('/api/v1/session')
      .flush({ authenticated: false, expiresAt: null });

    expect(navigate).toHaveBeenCalledWith(['/login'], {
      queryParams: { returnUrl: '/connections?x=1' },
    });
  });

  it('waits for the new expiry when the API extended the session', () => {
    jest.useFakeTimers({ now: Date.parse('2026-11-24T14:00:00Z') });
    const navigate = jest.spyOn(router, 'navigate').mockResolvedValue(true);
    sut.login('pw').subscribe();
    api
      .expectOne('/api/v1/session')
      .flush({ authenticated: true, expiresAt: '2026-11-24T14:10:00.000Z' });

    jest.advanceTimersByTime(601_000);
    api
      .expectOne('/api/v1/session')
      .flush({ authenticated: true, expiresAt: '2026-11-24T15:00:00.000Z' });

    expect(navigate).not.toHaveBeenCalled();
    expect(sut.loggedIn()).toBe(true);
  });
});
