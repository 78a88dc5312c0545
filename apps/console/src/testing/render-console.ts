import { BreakpointObserver, BreakpointState } from '@angular/cdk/layout';
import { HarnessLoader } from '@angular/cdk/testing';
import { TestbedHarnessEnvironment } from '@angular/cdk/testing/testbed';
import { TestBed } from '@angular/core/testing';
import { MATERIAL_ANIMATIONS } from '@angular/material/core';
import { RouterTestingHarness } from '@angular/router/testing';
import { BehaviorSubject, map } from 'rxjs';
import { appConfig } from '../app/app.config';

/** The whole console, routed to one URL, in a viewport whose width the test chooses. */
export interface RenderedConsole {
  router: RouterTestingHarness;
  /** The root element: the shell and the current page inside it. */
  root: HTMLElement;
  loader: HarnessLoader;
  /** Resizes the fake viewport to a phone's width (`true`) or a wide screen (`false`). */
  setNarrow(narrow: boolean): Promise<void>;
  /** Waits until what a click or a key press set off has been rendered. */
  settle(): Promise<void>;
}

export async function renderConsole(
  url: string,
  { narrow = false } = {},
): Promise<RenderedConsole> {
  const narrowLayout = new BehaviorSubject(narrow);
  const breakpointObserver: Pick<BreakpointObserver, 'observe'> = {
    observe: () =>
      narrowLayout.pipe(
        map((matches): BreakpointState => ({ matches, breakpoints: {} })),
      ),
  };
  TestBed.configureTestingModule({
    providers: [
      appConfig.providers,
      { provide: BreakpointObserver, useValue: breakpointObserver },
      // jsdom never fires `transitionend`; without this the drawer would stay mid-animation.
      { provide: MATERIAL_ANIMATIONS, useValue: { animationsDisabled: true } },
    ],
  });
  const router = await RouterTestingHarness.create(url);
  // `whenStable()` alone can resolve before work that the router (RouterLinkActive) and the
  // drawer (its open and close events) start in a microtask or a timer.
  const settle = async () => {
    await new Promise((resolve) => setTimeout(resolve));
    await router.fixture.whenStable();
  };
  await settle();
  return {
    router,
    root: router.fixture.nativeElement as HTMLElement,
    loader: TestbedHarnessEnvironment.loader(router.fixture),
    async setNarrow(narrowNow: boolean) {
      narrowLayout.next(narrowNow);
      await settle();
    },
    settle,
  };
}

/** The trimmed text of the first element matching `selector`, or `null` when none does. */
export function textOf(root: HTMLElement, selector: string): string | null {
  return (
    root.querySelector(selector)?.textContent?.replace(/\s+/g, ' ').trim() ??
    null
  );
}
