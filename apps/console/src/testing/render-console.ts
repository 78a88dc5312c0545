import { BreakpointObserver, BreakpointState } from '@angular/cdk/layout';
import { HarnessLoader } from '@angular/cdk/testing';
import { TestbedHarnessEnvironment } from '@angular/cdk/testing/testbed';
import { HttpRequest } from '@angular/common/http';
import {
  HttpTestingController,
  provideHttpClientTesting,
} from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { MATERIAL_ANIMATIONS } from '@angular/material/core';
import { RouterTestingHarness } from '@angular/router/testing';
import type { SessionDto } from '@keeper/contracts';
import { BehaviorSubject, map } from 'rxjs';
import { appConfig } from '../app/app.config';
import { EXTERNAL_NAVIGATION } from '../app/core/external-navigation';
import { EVENT_SOURCE_FACTORY } from '../app/core/events.service';
import { FakeEventSources } from './fake-event-source';

/**
 * Canned API answers, keyed by `METHOD /path` (no query string): a body, or a function of the
 * request giving one. Every matching request is answered, however often it is made.
 */
export type CannedApi = Record<string, unknown>;

export interface RenderOptions {
  /** A phone's width (`true`) or a wide screen (`false`, the default). */
  narrow?: boolean;
  /** Whether `GET /api/v1/session` says the admin is logged in (the default). */
  loggedIn?: boolean;
  /** Answers to give without the test flushing them itself. */
  api?: CannedApi;
}

/** The whole console, routed to one URL, in a viewport whose width the test chooses. */
export interface RenderedConsole {
  router: RouterTestingHarness;
  /** The root element: the shell and the current page inside it. */
  root: HTMLElement;
  loader: HarnessLoader;
  /** Finds harnesses in overlays too (dialogs, menus, toasts). */
  documentLoader: HarnessLoader;
  /** The API calls that no canned answer covers. */
  http: HttpTestingController;
  /** The live event streams the console opened. */
  eventSources: FakeEventSources;
  /** Where the console sent the browser outside itself (Amazon's consent page). */
  externalNavigations: string[];
  /** Resizes the fake viewport to a phone's width (`true`) or a wide screen (`false`). */
  setNarrow(narrow: boolean): Promise<void>;
  /** Waits until what a click, a key press or an API answer set off has been rendered. */
  settle(): Promise<void>;
}

function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve));
}

function answerCanned(http: HttpTestingController, api: CannedApi): number {
  const key = (request: HttpRequest<unknown>) =>
    `${request.method} ${request.url}`;
  const pending = http.match((request) => key(request) in api);
  for (const request of pending) {
    const answer = api[key(request.request)];
    request.flush(
      typeof answer === 'function' ? answer(request.request) : answer,
    );
  }
  return pending.length;
}

export async function renderConsole(
  url: string,
  { narrow = false, loggedIn = true, api = {} }: RenderOptions = {},
): Promise<RenderedConsole> {
  const narrowLayout = new BehaviorSubject(narrow);
  const breakpointObserver: Pick<BreakpointObserver, 'observe'> = {
    observe: () =>
      narrowLayout.pipe(
        map((matches): BreakpointState => ({ matches, breakpoints: {} })),
      ),
  };
  const eventSources = new FakeEventSources();
  const externalNavigations: string[] = [];
  const session: SessionDto = { authenticated: loggedIn, expiresAt: null };
  const canned: CannedApi = { 'GET /api/v1/session': session, ...api };
  TestBed.configureTestingModule({
    providers: [
      appConfig.providers,
      provideHttpClientTesting(),
      { provide: BreakpointObserver, useValue: breakpointObserver },
      // jsdom never fires `transitionend`; without this the drawer would stay mid-animation.
      { provide: MATERIAL_ANIMATIONS, useValue: { animationsDisabled: true } },
      { provide: EVENT_SOURCE_FACTORY, useValue: eventSources.factory },
      {
        provide: EXTERNAL_NAVIGATION,
        useValue: (target: string) => externalNavigations.push(target),
      },
    ],
  });
  const http = TestBed.inject(HttpTestingController);

  // The session guard waits for `GET /session` before the first page can show.
  let navigated = false;
  const navigation = RouterTestingHarness.create(url).finally(() => {
    navigated = true;
  });
  for (let round = 0; round < 20 && !navigated; round++) {
    await macrotask();
    answerCanned(http, canned);
  }
  const router = await navigation;

  // `whenStable()` alone can resolve before work that the router (RouterLinkActive) and the
  // drawer (its open and close events) start in a microtask or a timer; an answer may set off
  // another call (the page's data after the guard), hence the rounds.
  const settle = async () => {
    for (let round = 0; round < 5; round++) {
      await macrotask();
      await router.fixture.whenStable();
      if (answerCanned(http, canned) === 0) break;
    }
  };
  await settle();
  return {
    router,
    root: router.fixture.nativeElement as HTMLElement,
    loader: TestbedHarnessEnvironment.loader(router.fixture),
    documentLoader: TestbedHarnessEnvironment.documentRootLoader(
      router.fixture,
    ),
    http,
    eventSources,
    externalNavigations,
    async setNarrow(narrowNow: boolean) {
      narrowLayout.next(narrowNow);
      await settle();
    },
    settle,
  };
}

/** The trimmed text of the first element matching `selector`, or `null` when none does. */
export function textOf(root: Element, selector: string): string | null {
  return (
    root.querySelector(selector)?.textContent?.replace(/\s+/g, ' ').trim() ??
    null
  );
}

/** The text of every element matching `selector`, trimmed. */
export function textsOf(root: Element, selector: string): string[] {
  return Array.from(root.querySelectorAll(selector)).map(
    (element) => element.textContent?.replace(/\s+/g, ' ').trim() ?? '',
  );
}

/**
 * The words a person gets from the first element matching `selector`: icon ligatures and
 * `aria-hidden` parts left out, text from separate elements kept apart by a space.
 */
export function readableText(root: Element, selector: string): string | null {
  const element = root.querySelector(selector);
  return element ? wordsOf(element) : null;
}

/** {@link readableText} of every element matching `selector`. */
export function readableTexts(root: Element, selector: string): string[] {
  return Array.from(root.querySelectorAll(selector)).map(wordsOf);
}

function wordsOf(element: Element): string {
  const words: string[] = [];
  const walk = (node: Node) => {
    if (node.nodeType === Node.TEXT_NODE) {
      words.push(node.textContent ?? '');
      return;
    }
    if (
      node instanceof Element &&
      (node.tagName === 'MAT-ICON' ||
        node.getAttribute('aria-hidden') === 'true')
    ) {
      return;
    }
    node.childNodes.forEach(walk);
  };
  element.childNodes.forEach(walk);
  return words
    .join(' ')
    .replace(/\s+/g, ' ')
    .replace(/ ([.,:;)])/g, '$1')
    .replace(/\( /g, '(')
    .trim();
}

/** The message of the toast being shown (without its button), or `null`. */
export function toastText(): string | null {
  return textOf(
    document.body,
    '.mat-mdc-simple-snack-bar .mat-mdc-snack-bar-label',
  );
}
