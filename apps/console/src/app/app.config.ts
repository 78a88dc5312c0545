import {
  provideHttpClient,
  withFetch,
  withInterceptors,
} from '@angular/common/http';
import {
  ApplicationConfig,
  provideBrowserGlobalErrorListeners,
  provideZonelessChangeDetection,
} from '@angular/core';
import {
  MAT_ICON_DEFAULT_OPTIONS,
  MatIconDefaultOptions,
} from '@angular/material/icon';
import {
  provideRouter,
  TitleStrategy,
  withComponentInputBinding,
} from '@angular/router';
import { appRoutes } from './app.routes';
import { apiInterceptor } from './core/api.interceptor';
import { PageTitleStrategy } from './shell/page-title.strategy';

// Material 21 components animate with CSS and need no `provideAnimationsAsync()`.
export const appConfig: ApplicationConfig = {
  providers: [
    provideBrowserGlobalErrorListeners(),
    provideZonelessChangeDetection(),
    provideRouter(appRoutes, withComponentInputBinding()),
    { provide: TitleStrategy, useClass: PageTitleStrategy },
    provideHttpClient(withFetch(), withInterceptors([apiInterceptor])),
    {
      // The self-hosted Material Symbols font, not the Material Icons font that
      // `<mat-icon>` expects by default.
      provide: MAT_ICON_DEFAULT_OPTIONS,
      useValue: {
        fontSet: 'material-symbols-outlined',
      } satisfies MatIconDefaultOptions,
    },
  ],
};
