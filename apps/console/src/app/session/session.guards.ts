import { inject } from '@angular/core';
import { CanActivateFn, Router } from '@angular/router';
import { map } from 'rxjs';
import { LOGIN_PATH, safeReturnUrl, SessionService } from './session.service';

/** The console's pages need a session; without one, the login page, which comes back here. */
export const requireSession: CanActivateFn = (_route, state) => {
  const router = inject(Router);
  return inject(SessionService)
    .check()
    .pipe(
      // When the API cannot say, let the page load: its own calls tell the admin what is wrong.
      map(
        (session) =>
          session !== 'out' ||
          router.createUrlTree([LOGIN_PATH], {
            queryParams: { returnUrl: state.url },
          }),
      ),
    );
};

/** An admin who is logged in already skips the login page. */
export const skipLoginWhenLoggedIn: CanActivateFn = (route) => {
  const router = inject(Router);
  return inject(SessionService)
    .check()
    .pipe(
      map(
        (session) =>
          session !== 'in' ||
          router.parseUrl(safeReturnUrl(route.queryParamMap.get('returnUrl'))),
      ),
    );
};
