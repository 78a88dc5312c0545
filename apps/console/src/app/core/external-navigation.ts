import { InjectionToken } from '@angular/core';

/**
 * Leaves the console for a URL outside it (the API's redirect to Amazon's consent page): a
 * top-level navigation, since an XHR cannot follow a redirect to another site's page.
 */
export const EXTERNAL_NAVIGATION = new InjectionToken<(url: string) => void>(
  'EXTERNAL_NAVIGATION',
  {
    providedIn: 'root',
    factory: () => (url: string) => {
      window.location.href = url;
    },
  },
);
