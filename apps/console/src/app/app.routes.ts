import { Routes } from '@angular/router';
import { AppShell } from './shell/app-shell';

export const appRoutes: Routes = [
  {
    path: '',
    component: AppShell,
    children: [
      { path: '', pathMatch: 'full', redirectTo: 'connections' },
      {
        path: 'connections',
        title: 'Connections',
        loadComponent: () =>
          import('./connections/connections.page').then(
            (m) => m.ConnectionsPage,
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
