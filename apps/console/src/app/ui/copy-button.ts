import { LiveAnnouncer } from '@angular/cdk/a11y';
import { Clipboard } from '@angular/cdk/clipboard';
import {
  ChangeDetectionStrategy,
  Component,
  DestroyRef,
  inject,
  input,
  signal,
} from '@angular/core';
import { MatButton } from '@angular/material/button';
import { MatIcon } from '@angular/material/icon';

/** How long the button says "Copied" before it offers to copy again. */
export const COPIED_FOR_MS = 2500;

/**
 * "Copy" for a piece of text (a URL, a command): says "Copied" on the button for a moment and
 * to screen readers, or that copying failed and the text must be selected by hand.
 */
@Component({
  selector: 'atk-copy-button',
  imports: [MatButton, MatIcon],
  template: `
    <button matButton type="button" class="copy" (click)="copy()">
      <mat-icon>{{ looks[state()].icon }}</mat-icon>
      {{ looks[state()].words }}
      <span class="visually-hidden">{{ what() }}</span>
    </button>
  `,
  host: { '[attr.data-state]': 'state()' },
  changeDetection: ChangeDetectionStrategy.OnPush,
})
export class CopyButton {
  private readonly clipboard = inject(Clipboard);
  private readonly announcer = inject(LiveAnnouncer);

  /** The text copied. */
  readonly text = input.required<string>();
  /** What the text is, for screen readers: "the base URL". */
  readonly what = input.required<string>();

  protected readonly looks = {
    idle: { icon: 'content_copy', words: 'Copy' },
    copied: { icon: 'check', words: 'Copied' },
    failed: { icon: 'error', words: 'Copy failed' },
  } as const;
  protected readonly state = signal<'idle' | 'copied' | 'failed'>('idle');
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    inject(DestroyRef).onDestroy(() => clearTimeout(this.timer));
  }

  protected copy(): void {
    clearTimeout(this.timer);
    if (this.clipboard.copy(this.text())) {
      this.state.set('copied');
      void this.announcer.announce(`Copied ${this.what()}.`);
      this.timer = setTimeout(() => this.state.set('idle'), COPIED_FOR_MS);
    } else {
      this.state.set('failed');
      void this.announcer.announce(
        `Could not copy ${this.what()}: select it and copy it by hand.`,
        'assertive',
      );
    }
  }
}
