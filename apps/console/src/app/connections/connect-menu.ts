import {
  ChangeDetectionStrategy,
  Component,
  inject,
  input,
} from '@angular/core';
import { MatButton } from '@angular/material/button';
import { MatIcon } from '@angular/material/icon';
import { MatMenu, MatMenuItem, MatMenuTrigger } from '@angular/material/menu';
import { Region, REGION_NAMES, REGIONS } from '@keeper/contracts';
import { EXTERNAL_NAVIGATION } from '../core/external-navigation';
import { connectStartUrl } from './connections.api';

/** "Connect Amazon account", then the region: leaves for Amazon's consent page. */
@Component({
  selector: 'atk-connect-menu',
  imports: [MatButton, MatIcon, MatMenu, MatMenuItem, MatMenuTrigger],
  template: `
    <button
      [matButton]="appearance()"
      type="button"
      class="connect"
      [matMenuTriggerFor]="regions"
    >
      <mat-icon>add_link</mat-icon>
      Connect Amazon account
    </button>
    <mat-menu #regions="matMenu" aria-label="Amazon region">
      @for (region of regions_; track region) {
        <button mat-menu-item type="button" (click)="connect(region)">
          <span>{{ regionNames[region] }}</span>
        </button>
      }
    </mat-menu>
  `,
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class ConnectMenu {
  private readonly navigate = inject(EXTERNAL_NAVIGATION);

  readonly appearance = input<'filled' | 'tonal'>('filled');

  protected readonly regions_ = REGIONS;
  protected readonly regionNames = REGION_NAMES;

  protected connect(region: Region): void {
    this.navigate(connectStartUrl(region));
  }
}
