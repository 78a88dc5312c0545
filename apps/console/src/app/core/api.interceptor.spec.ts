import {
  HttpClient,
  provideHttpClient,
  withInterceptors,
} from '@angular/common/http';
import {
  HttpTestingController,
  provideHttpClientTesting,
} from '@angular/common/http/testing';
import { Component } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { provideRouter, Router } from '@angular/router';
import type { ApiErrorDto } from '@keeper/contracts';
import { SessionService } from '../session/session.service';
import { handleErrors } from './api';
import { apiInterceptor } from './api.interceptor';
import { ClockOffset } from './clock-offset';
import { Notifier } from './notifier';

@Component({ template: '' })
class BlankPage {}

describe('apiInterceptor', () => {
  let http: HttpClient;
  let api: HttpTestingController;
  let router: Router;
  let toasts: { message: string; correlationId?: string | null }[];

  const apiError = (statusCode: number, message: string): ApiErrorDto => ({
    statusCode,
    error: 'Error',
    message,
    correlationId: 'req-7f3a',
  });

  beforeEach(async () => {
    toasts = [];
    TestBed.configureTestingModule({
      providers: [
        provideHttpClient(withInterceptors([apiInterceptor])),
        provideHttpClientTesting(),
        provideRouter([{ path: '**', component: BlankPage }]),
        {
          provide: Notifier,
          useValue: {
            error: (message: string, correlationId?: string | null) =>
              toasts.push({ message, correlationId }),
            info: (message: string) => toasts.push({ message }),
          },
        },
      ],
    });
    http = TestBed.inject(HttpClient);
    api = TestBed.inject(HttpTestingController);
    router = TestBed.inject(Router);
    await router.navigateByUrl('/audit?type=refreshed');
  });

  function call(options = {}): { failed: () => boolean } {
    let failed = false;
    http
      .get('/api/v1/connections', options)
      .subscribe({ error: () => (failed = true) });
    return { failed: () => failed };
  }

  it('sends the admin to the login page on a 401, to come back to the page they were on', async () => {
    const request = call();

    api
      .expectOne('/api/v1/connections')
      .flush(
        apiError(401, 'Log in first: this route needs an admin session.'),
        {
          status: 401,
          statusText: 'Unauthorized',
        },
      );
    await new Promise((resolve) => setTimeout(resolve));

    expect(router.url).toBe('/login?returnUrl=%2Faudit%3Ftype%3Drefreshed');
    expect(request.failed()).toBe(true);
    expect(toasts).toEqual([]);
    expect(TestBed.inject(SessionService).loggedIn()).toBe(false);
  });

  it('goes to the login page once when several calls fail with 401 together', async () => {
    const navigate = jest.spyOn(router, 'navigate');
    call();
    call();

    for (const request of api.match('/api/v1/connections')) {
      request.flush(apiError(401, 'Log in first.'), {
        status: 401,
        statusText: 'Unauthorized',
      });
    }
    await new Promise((resolve) => setTimeout(resolve));

    expect(navigate).toHaveBeenCalledTimes(1);
  });

  it("toasts any other failure with the API's message and correlation id", () => {
    const request = call();

    api
      .expectOne('/api/v1/connections')
      .flush(
        apiError(409, 'Amazon says the refresh token is no longer valid.'),
        {
          status: 409,
          statusText: 'Conflict',
        },
      );

    expect(toasts).toEqual([
      {
        message: 'Amazon says the refresh token is no longer valid.',
        correlationId: 'req-7f3a',
      },
    ]);
    expect(request.failed()).toBe(true);
    expect(router.url).toBe('/audit?type=refreshed');
  });

  it('takes the correlation id from the x-request-id header when the body has none', () => {
    call();

    api.expectOne('/api/v1/connections').flush('<html>Bad gateway</html>', {
      status: 502,
      statusText: 'Bad Gateway',
      headers: { 'x-request-id': 'req-proxy-1' },
    });

    expect(toasts).toEqual([
      {
        message:
          'The API did not answer (the proxy said 502 Bad Gateway). Check that it is running, then try again.',
        correlationId: 'req-proxy-1',
      },
    ]);
  });

  it("gives the status of an answer that is not in the API's error shape", () => {
    call();

    api
      .expectOne('/api/v1/connections')
      .flush('Teapot', { status: 418, statusText: "I'm a teapot" });

    expect(toasts).toEqual([
      { message: "The API answered 418 I'm a teapot.", correlationId: null },
    ]);
  });

  it('says so when the API did not answer at all', () => {
    call();

    api
      .expectOne('/api/v1/connections')
      .error(new ProgressEvent('error'), { status: 0 });

    expect(toasts).toEqual([
      {
        message:
          'The API did not answer. Check that it is running, then try again.',
        correlationId: null,
      },
    ]);
  });

  it('keeps quiet when the caller asked it to, but still leads to the login page on a 401', async () => {
    call(handleErrors('quiet'));
    api.expectOne('/api/v1/connections').flush(apiError(503, 'Down'), {
      status: 503,
      statusText: 'Service Unavailable',
    });
    expect(toasts).toEqual([]);

    call(handleErrors('quiet'));
    api.expectOne('/api/v1/connections').flush(apiError(401, 'Log in first.'), {
      status: 401,
      statusText: 'Unauthorized',
    });
    await new Promise((resolve) => setTimeout(resolve));

    expect(router.url).toMatch(/^\/login\?returnUrl=/);
  });

  it('leaves every failure, a 401 included, to a caller that handles its own', async () => {
    const request = call(handleErrors('caller'));

    api
      .expectOne('/api/v1/connections')
      .flush(apiError(401, 'That password is not right.'), {
        status: 401,
        statusText: 'Unauthorized',
      });
    await new Promise((resolve) => setTimeout(resolve));

    expect(request.failed()).toBe(true);
    expect(toasts).toEqual([]);
    expect(router.url).toBe('/audit?type=refreshed');
  });

  it("learns the server's clock from the Date header of answers and failures", () => {
    const realNow = Date.now();
    const serverTime = new Date(realNow + 3_600_000).toUTCString();

    call();
    api
      .expectOne('/api/v1/connections')
      .flush([], { headers: { date: serverTime } });

    const offset = TestBed.inject(ClockOffset).offsetMs();
    expect(offset).toBeGreaterThan(3_598_000);
    expect(offset).toBeLessThan(3_602_000);
  });

  it('leaves calls outside the API alone', () => {
    let failed = false;
    http.get('/assets/thing.json').subscribe({ error: () => (failed = true) });

    api
      .expectOne('/assets/thing.json')
      .flush('nope', { status: 401, statusText: 'Unauthorized' });

    expect(failed).toBe(true);
    expect(toasts).toEqual([]);
    expect(router.url).toBe('/audit?type=refreshed');
  });
});
