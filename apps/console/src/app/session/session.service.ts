import { HttpClient } from '@angular/common/http';
import {
  computed,
  DestroyRef,
  inject,
  Injectable,
  signal,
} from '@angular/core';
import { Router } from '@angular/router';
import type { LoginRequest, SessionDto } from '@keeper/contracts';
import { catchError, map, Observable, of, tap } from 'rxjs';
import { API_PREFIX, handleErrors } from '../core/api';
import { ClockOffset } from '../core/clock-offset';

export const SESSION_URL = `${API_PREFIX}/session`;
export const LOGIN_PATH = '/login';
const DEFAULT_PAGE = '/connections';
/** `setTimeout` takes at most a signed 32-bit number of ms (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Where to go after logging in: a console path from `returnUrl`, never another site
 * (`//evil.example`) and never the login page itself.
 */
export function safeReturnUrl(returnUrl: string | null | undefined): string {
  if (
    !returnUrl ||
    !returnUrl.startsWith('/') ||
    returnUrl.startsWith('//') ||
    returnUrl.startsWith('/\\') ||
    returnUrl === LOGIN_PATH ||
    returnUrl.startsWith(`${LOGIN_PATH}?`) ||
    returnUrl.startsWith(`${LOGIN_PATH}/`)
  ) {
    return DEFAULT_PAGE;
  }
  return returnUrl;
}

/** `unknown`: the API did not say (it is down or restarting). */
export type SessionState = 'in' | 'out' | 'unknown';

/**
 * The admin's session: asked of the API once (`GET /session`), then known from logging in and
 * out and from any 401. When it expires, the console goes to the login page, which brings the
 * admin back to the page they were on.
 */
@Injectable({ providedIn: 'root' })
export class SessionService {
  private readonly http = inject(HttpClient);
  private readonly router = inject(Router);
  private readonly clockOffset = inject(ClockOffset);

  private readonly session = signal<SessionDto | undefined>(undefined);
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  /** On the way to the login page already. */
  private leaving = false;

  readonly loggedIn = computed(() => this.session()?.authenticated === true);

  constructor() {
    inject(DestroyRef).onDestroy(() => clearTimeout(this.expiryTimer));
  }

  /** Whether the admin is logged in; asks the API only while nobody knows yet. */
  check(): Observable<SessionState> {
    const known = this.session();
    if (known) return of(known.authenticated ? 'in' : 'out');
    return this.fetch();
  }

  login(password: string): Observable<SessionDto> {
    const body: LoginRequest = { password };
    return this.http
      .post<SessionDto>(SESSION_URL, body, handleErrors('caller'))
      .pipe(tap((session) => this.accept(session)));
  }

  /** Ends the session (even when the API cannot be told) and shows the login page. */
  logout(): void {
    this.http.delete<void>(SESSION_URL, handleErrors('caller')).subscribe({
      error: () => undefined,
    });
    this.accept({ authenticated: false, expiresAt: null });
    void this.router.navigateByUrl(LOGIN_PATH);
  }

  /**
   * The API answered 401, or the session ran out: the login page, then back to this page.
   * Many requests may fail at once; only the first one navigates.
   */
  ended(): void {
    this.accept({ authenticated: false, expiresAt: null });
    const current = this.router.url;
    if (this.leaving || current.startsWith(LOGIN_PATH)) return;
    this.leaving = true;
    void this.router
      .navigate([LOGIN_PATH], { queryParams: { returnUrl: current } })
      .finally(() => (this.leaving = false));
  }

  private fetch(): Observable<SessionState> {
    return this.http.get<SessionDto>(SESSION_URL, handleErrors('caller')).pipe(
      tap((session) => this.accept(session)),
      map((session): SessionState => (session.authenticated ? 'in' : 'out')),
      catchError(() => of<SessionState>('unknown')),
    );
  }

  private accept(session: SessionDto): void {
    this.session.set(session);
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    if (!session.authenticated || !session.expiresAt) return;
    // At the expiry (server time), ask again: the API may have extended the session.
    const serverNow = Date.now() + this.clockOffset.offsetMs();
    const delay = Date.parse(session.expiresAt) - serverNow + 1000;
    this.expiryTimer = setTimeout(
      () => {
        this.session.set(undefined);
        this.fetch().subscribe((state) => {
          if (state === 'out') this.ended();
        });
      },
      Math.min(Math.max(delay, 0), MAX_TIMER_MS),
    );
  }
}
