import { inject, Injectable, Injector } from '@angular/core';
import type {
  MatSnackBar,
  MatSnackBarConfig,
} from '@angular/material/snack-bar';

/**
 * Toasts: what an action did, or why it failed and the id to look for in the API's logs.
 *
 * The snack bar (and the CDK overlay under it) loads with the first toast, not with the
 * console: the login page never needs it.
 */
@Injectable({ providedIn: 'root' })
export class Notifier {
  private readonly injector = inject(Injector);
  private snackBar: Promise<MatSnackBar> | undefined;

  info(message: string): void {
    this.open(message, 'OK', { duration: 6000 });
  }

  error(message: string, correlationId?: string | null): void {
    const text = correlationId
      ? `${message} (correlation id ${correlationId})`
      : message;
    // Longer than an info toast: the admin may want to copy the correlation id.
    this.open(text, 'Dismiss', {
      duration: 12000,
      politeness: 'assertive',
      panelClass: 'atk-error-toast',
    });
  }

  private open(
    message: string,
    action: string,
    config: MatSnackBarConfig,
  ): void {
    this.snackBar ??= import('@angular/material/snack-bar').then((module) =>
      this.injector.get(module.MatSnackBar),
    );
    void this.snackBar.then((snackBar) =>
      snackBar.open(message, action, config),
    );
  }
}
