import { ChangeDetectionStrategy, Component } from '@angular/core';
import { RouterOutlet } from '@angular/router';

/**
 * The root only hosts the router: the shell (toolbar and navigation) is a layout route, so a
 * page without it (a login page, say) is one more top-level route.
 */
@Component({
  selector: 'atk-root',
  imports: [RouterOutlet],
  template: '<router-outlet />',
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class App {}
