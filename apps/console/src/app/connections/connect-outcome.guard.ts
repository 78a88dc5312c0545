import { inject } from '@angular/core';
import { type CanActivateFn, Router } from '@angular/router';

/**
 * Back from Amazon, the API sends the browser to
 * `/connections?connect=<outcome>&connectionId=…`: a connection made or made good again is
 * shown on its own page (`/connections/:id?connect=<outcome>`), which says so, since the
 * table's first page may not hold it. Failures stay on the table, which says why.
 */
export const connectOutcomeRedirect: CanActivateFn = (route) => {
  const outcome = route.queryParamMap.get('connect');
  const connectionId = route.queryParamMap.get('connectionId');
  if ((outcome === 'connected' || outcome === 'reconnected') && connectionId) {
    return inject(Router).createUrlTree(['/connections', connectionId], {
      queryParams: { connect: outcome },
    });
  }
  return true;
};
