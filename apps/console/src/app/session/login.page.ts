import { HttpErrorResponse } from '@angular/common/http';
import {
  afterNextRender,
  ChangeDetectionStrategy,
  Component,
  ElementRef,
  inject,
  input,
  signal,
  viewChild,
} from '@angular/core';
import { MatButton, MatIconButton } from '@angular/material/button';
import {
  MatFormField,
  MatLabel,
  MatSuffix,
} from '@angular/material/form-field';
import { MatIcon } from '@angular/material/icon';
import { MatInput } from '@angular/material/input';
import { MatProgressSpinner } from '@angular/material/progress-spinner';
import { Router } from '@angular/router';
import { describeApiFailure } from '../core/api';
import { PRODUCT_NAME } from '../shell/product';
import { safeReturnUrl, SessionService } from './session.service';

/** The words for a failed login: the API's own message, plus when to try again. */
export function loginFailureMessage(error: unknown): string {
  const failure = describeApiFailure(error);
  if (failure.status === 401) {
    return failure.message || 'That password is not right.';
  }
  if (failure.status === 429) {
    const retryAfter = Number(
      error instanceof HttpErrorResponse
        ? error.headers.get('retry-after')
        : NaN,
    );
    const wait =
      Number.isFinite(retryAfter) && retryAfter > 0
        ? ` You can try again in ${Math.ceil(retryAfter)} s.`
        : '';
    return (
      (failure.message ||
        'Too many login attempts: wait a minute and try again.') + wait
    );
  }
  return failure.correlationId
    ? `${failure.message} (correlation id ${failure.correlationId})`
    : failure.message;
}

/** The admin password, and nothing else: the one page outside the shell. */
@Component({
  selector: 'atk-login-page',
  imports: [
    MatButton,
    MatFormField,
    MatIcon,
    MatIconButton,
    MatInput,
    MatLabel,
    MatProgressSpinner,
    MatSuffix,
  ],
  template: `
    <main class="login" id="main-content">
      <form class="card" (submit)="logIn($event)" novalidate>
        <mat-icon class="key" aria-hidden="true">key</mat-icon>
        <h1 class="heading">Log in to {{ productName }}</h1>
        <mat-form-field appearance="outline" class="field">
          <mat-label>Admin password</mat-label>
          <input
            matInput
            #passwordInput
            id="password"
            name="password"
            autocomplete="current-password"
            required
            [type]="passwordShown() ? 'text' : 'password'"
            [value]="password()"
            (input)="password.set(passwordInput.value)"
            [attr.aria-invalid]="error() ? true : null"
            aria-describedby="login-error"
          />
          <button
            matIconButton
            matSuffix
            type="button"
            [attr.aria-label]="
              passwordShown() ? 'Hide password' : 'Show password'
            "
            [attr.aria-pressed]="passwordShown()"
            (click)="passwordShown.set(!passwordShown())"
          >
            <mat-icon>{{
              passwordShown() ? 'visibility_off' : 'visibility'
            }}</mat-icon>
          </button>
        </mat-form-field>
        <p id="login-error" class="error" aria-live="assertive">
          @if (error(); as message) {
            <mat-icon class="error-icon" aria-hidden="true">error</mat-icon>
            <span>{{ message }}</span>
          }
        </p>
        <button
          matButton="filled"
          type="submit"
          class="submit"
          [disabled]="pending()"
        >
          @if (pending()) {
            <mat-progress-spinner
              mode="indeterminate"
              diameter="20"
              aria-label="Logging in"
            />
          } @else {
            Log in
          }
        </button>
        <p class="hint">
          <code>npm start</code> prints the password; in production it is
          <code>ADMIN_PASSWORD</code>.
        </p>
      </form>
    </main>
  `,
  styles: `
    .login {
      display: grid;
      place-items: center;
      min-height: 100dvh;
      padding: 16px;
      box-sizing: border-box;
    }

    .card {
      display: flex;
      flex-direction: column;
      gap: 8px;
      width: min(100%, 400px);
      padding: 32px 24px 24px;
      box-sizing: border-box;
      border-radius: var(--mat-sys-corner-extra-large);
      background: var(--mat-sys-surface-container-low);
    }

    .key {
      align-self: center;
      width: 48px;
      height: 48px;
      font-size: 48px;
      color: var(--mat-sys-primary);
    }

    .heading {
      margin: 0 0 16px;
      text-align: center;
      font: var(--mat-sys-headline-small);
    }

    .error {
      display: flex;
      gap: 8px;
      align-items: flex-start;
      min-height: 1.5em;
      margin: 0;
      color: var(--mat-sys-error);
      font: var(--mat-sys-body-medium);
    }

    .error-icon {
      flex: none;
    }

    .submit {
      align-self: stretch;
    }

    .hint {
      margin: 8px 0 0;
      color: var(--mat-sys-on-surface-variant);
      font: var(--mat-sys-body-small);
    }
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class LoginPage {
  private readonly session = inject(SessionService);
  private readonly router = inject(Router);

  /** Where the admin was when the session ended (a query parameter). */
  readonly returnUrl = input<string>();

  protected readonly productName = PRODUCT_NAME;
  protected readonly password = signal('');
  protected readonly passwordShown = signal(false);
  protected readonly pending = signal(false);
  protected readonly error = signal<string | null>(null);
  private readonly passwordInput =
    viewChild.required<ElementRef<HTMLInputElement>>('passwordInput');

  constructor() {
    // The page's one field: typing can start at once.
    afterNextRender(() => this.passwordInput().nativeElement.focus());
  }

  protected logIn(event: Event): void {
    event.preventDefault();
    if (this.pending()) return;
    if (!this.password()) {
      this.error.set('Enter the admin password.');
      return;
    }
    this.pending.set(true);
    this.error.set(null);
    this.session.login(this.password()).subscribe({
      next: () => {
        this.pending.set(false);
        void this.router.navigateByUrl(safeReturnUrl(this.returnUrl()));
      },
      error: (error: unknown) => {
        this.pending.set(false);
        this.error.set(loginFailureMessage(error));
      },
    });
  }
}
