import {
  HttpErrorResponse,
  HttpInterceptorFn,
  HttpResponse,
} from '@angular/common/http';
import { inject } from '@angular/core';
import { catchError, tap, throwError } from 'rxjs';
import { SessionService } from '../session/session.service';
import { API_PREFIX, describeApiFailure, ERROR_HANDLING } from './api';
import { ClockOffset } from './clock-offset';
import { Notifier } from './notifier';

/**
 * Every API call: learns the server's clock from the `Date` header, turns a 401 into the login
 * page (which comes back to this page), and tells the admin about any other failure in a toast
 * with the correlation id, unless the caller asked otherwise (see `ERROR_HANDLING`).
 */
export const apiInterceptor: HttpInterceptorFn = (request, next) => {
  if (!request.url.startsWith(API_PREFIX)) return next(request);
  const clockOffset = inject(ClockOffset);
  const session = inject(SessionService);
  const notifier = inject(Notifier);
  const errorHandling = request.context.get(ERROR_HANDLING);
  const sentAt = Date.now();

  return next(request).pipe(
    tap((event) => {
      if (event instanceof HttpResponse) {
        clockOffset.record(event.headers.get('date'), sentAt, Date.now());
      }
    }),
    catchError((error: unknown) => {
      if (error instanceof HttpErrorResponse && error.status !== 0) {
        clockOffset.record(error.headers.get('date'), sentAt, Date.now());
      }
      if (errorHandling === 'caller') return throwError(() => error);
      if (error instanceof HttpErrorResponse && error.status === 401) {
        session.ended();
      } else if (errorHandling === 'toast') {
        const failure = describeApiFailure(error);
        notifier.error(failure.message, failure.correlationId);
      }
      return throwError(() => error);
    }),
  );
};
