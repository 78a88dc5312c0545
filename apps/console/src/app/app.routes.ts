import { Routes } from '@angular/router';
import { connectOutcomeRedirect } from './connections/connect-outcome.guard';
import {
  requireSession,
  skipLoginWhenLoggedIn,
} from './session/session.guards';

export const appRoutes: Routes = [
  // Before the shell, whose `**` would otherwise answer it.
  {
    path: 'login',
    title: 'Log in',
    canActivate: [skipLoginWhenLoggedIn],
    loadComponent: () =>
      import('./session/login.page').then((m) => m.LoginPage),
  },
  {
    path: '',
    // Lazy too: the login page needs neither the navigation nor its Material parts.
    loadComponent: () => import('./shell/app-shell').then((m) => m.AppShell),
    // Checked on entering the shell, not on every page change inside it: a session that ends
    // later shows up as a 401, which the API interceptor turns into the login page.
    canActivate: [requireSession],
    children: [
      { path: '', pathMatch: 'full', redirectTo: 'connections' },
      {
        path: 'connections',
        title: 'Connections',
        canActivate: [connectOutcomeRedirect],
        loadComponent: () =>
          import('./connections/connections.page').then(
            (m) => m.ConnectionsPage,
          ),
      },
      {
        path: 'connections/:id',
        title: 'Connection',
        loadComponent: () =>
          import('./connections/connection.page').then((m) => m.ConnectionPage),
      },
      {
        path: 'service-keys',
        title: 'Service keys',
        loadComponent: () =>
          import('./service-keys/service-keys.page').then(
            (m) => m.ServiceKeysPage,
          ),
      },
      {
        path: 'connect-links',
        title: 'Connect links',
        loadComponent: () =>
          import('./connect-links/connect-links.page').then(
            (m) => m.ConnectLinksPage,
          ),
      },
      {
        path: 'audit',
        title: 'Audit',
        loadComponent: () =>
          import('./audit/audit.page').then((m) => m.AuditPage),
      },
      {
        path: 'system',
        title: 'System',
        loadComponent: () =>
          import('./system/system.page').then((m) => m.SystemPage),
      },
      {
        path: '**',
        title: 'Page not found',
        loadComponent: () =>
          import('./shell/not-found.page').then((m) => m.NotFoundPage),
      },
    ],
  },
];
