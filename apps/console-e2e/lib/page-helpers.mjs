// Small waits and reads on top of playwright-core (which has no `expect`): each names what it
// waited for, so a failure line says what the user would not have seen.

export const ACTION_TIMEOUT_MS = 20_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `locator` is visible. */
export async function see(locator, what, timeout = ACTION_TIMEOUT_MS) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout });
  } catch (error) {
    throw new Error(`did not see ${what} within ${timeout / 1000} s`, {
      cause: error,
    });
  }
}

/** Waits until `locator` is gone (detached or hidden). */
export async function seeNo(locator, what, timeout = ACTION_TIMEOUT_MS) {
  try {
    await locator.first().waitFor({ state: 'hidden', timeout });
  } catch (error) {
    throw new Error(`still saw ${what} after ${timeout / 1000} s`, {
      cause: error,
    });
  }
}

/** Polls `check` (which throws or returns false while not yet true) until it holds. */
export async function eventually(what, check, timeout = ACTION_TIMEOUT_MS) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value !== false) return value;
      last = 'not yet';
    } catch (error) {
      last =
        error instanceof Error ? error.message.split('\n')[0] : String(error);
    }
    if (Date.now() > deadline)
      throw new Error(`${what} (after ${timeout / 1000} s: ${last})`);
    await sleep(200);
  }
}

/** The visible text of the toast (Material snack bar) matching `pattern`. */
export async function toast(
  page,
  pattern,
  what = `a toast matching ${pattern}`,
) {
  const bar = page
    .locator('mat-snack-bar-container')
    .filter({ hasText: pattern });
  await see(bar, what);
  // A new toast waits, transparent, for the previous one to leave: wait until it shows.
  await eventually(`${what} fully shown`, () =>
    bar
      .first()
      .evaluate((element) => getComputedStyle(element).opacity === '1'),
  );
  // Without the action button's word at the end.
  return (await bar.first().innerText())
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\s*(OK|Dismiss)$/, '');
}

/**
 * Lets running transitions (a toast sliding in, a dialog opening, the drawer closing) end, so
 * screenshots and layout checks see the settled page. Endless animations are not waited for.
 */
export async function settle(page, timeout = 2000) {
  await page.evaluate(
    (ms) =>
      Promise.race([
        Promise.all(
          document
            .getAnimations()
            .filter((animation) =>
              Number.isFinite(animation.effect?.getComputedTiming().endTime),
            )
            .map((animation) => animation.finished.catch(() => undefined)),
        ),
        new Promise((resolve) => setTimeout(resolve, ms)),
      ]),
    timeout,
  );
}

/** `mm:ss` as seconds. */
export function secondsOf(countdownText) {
  const match = /^(\d+):(\d{2})$/.exec(countdownText.trim());
  if (!match)
    throw new Error(`the countdown reads “${countdownText}”, not mm:ss`);
  return Number(match[1]) * 60 + Number(match[2]);
}

const MONTHS = [
  'jan',
  'feb',
  'mar',
  'apr',
  'may',
  'jun',
  'jul',
  'aug',
  'sep',
  'oct',
  'nov',
  'dec',
];

/** The console's exact time ("24 Nov 2026, 14:00:00", en-GB) read in UTC, the context's zone. */
export function parseExactTime(text) {
  const match =
    /(\d{1,2}) ([A-Za-z]{3,5})\.? (\d{4}),? (\d{2}):(\d{2}):(\d{2})/.exec(text);
  const month = match ? MONTHS.indexOf(match[2].slice(0, 3).toLowerCase()) : -1;
  if (!match || month < 0) throw new Error(`cannot read a time in “${text}”`);
  return Date.UTC(
    Number(match[3]),
    month,
    Number(match[1]),
    Number(match[4]),
    Number(match[5]),
    Number(match[6]),
  );
}

export { sleep };
