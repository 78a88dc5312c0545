import {
  computed,
  DestroyRef,
  inject,
  Injectable,
  signal,
} from '@angular/core';
import { ClockOffset } from './clock-offset';

/**
 * One shared clock for the whole console, ticking once a second and corrected to the server's
 * time. Every countdown and "3 min ago" reads it: each computes its own text, so a tick
 * re-renders the texts that changed, not the lists that hold them.
 */
@Injectable({ providedIn: 'root' })
export class ServerClock {
  private readonly clientNow = signal(Date.now());
  private readonly offset = inject(ClockOffset);

  /** The server's time now (ms since the epoch), as of the last tick. */
  readonly now = computed(() => this.clientNow() + this.offset.offsetMs());

  constructor() {
    const timer = setInterval(() => this.clientNow.set(Date.now()), 1000);
    inject(DestroyRef).onDestroy(() => clearInterval(timer));
  }
}
