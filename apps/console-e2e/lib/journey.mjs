// The admin's journey through the console (issue 6), asserting what the admin sees: log in,
// connect through the consent page (back on the connection's own page), watch the countdown,
// find it in the Connections table (status chips, search), "Use from your jobs", refresh now,
// lose the refresh token (`invalid_grant`), reconnect, read the audit, disconnect. Texts come
// from the console's templates (apps/console/src/app/**).
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ADMIN_PASSWORD } from './stack.mjs';
import {
  eventually,
  settle,
  parseExactTime,
  secondsOf,
  see,
  seeNo,
  sleep,
  toast,
} from './page-helpers.mjs';

export const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
/** The sandbox's default sample account, in North America. */
const ACCOUNT = /Acme Outdoor \(sample advertiser\)/;
const REGION = 'North America';

/**
 * @param {object} o
 * @param {import('playwright-core').Page} o.page
 * @param {import('./steps.mjs').StepRunner} o.steps
 * @param {import('./axe.mjs').AxeAudit} o.axe
 * @param {any} o.stack what startStack answered
 * @param {string} o.outDir
 * @param {string[]} o.pageErrors
 * @param {(line: string) => void} o.log
 */
export async function runJourney({
  page,
  steps,
  axe,
  stack,
  outDir,
  pageErrors,
  log,
}) {
  const { webUrl, sandboxUrl, sandbox } = stack;
  let shots = 0;
  const screenshot = async (name, options = {}) => {
    await settle(page);
    shots += 1;
    const file = `${String(shots).padStart(2, '0')}-${name}.png`;
    await page.screenshot({ path: join(outDir, file), ...options });
    return file;
  };
  const step = (name, work, options) => steps.step(name, work, options);
  const axeStep = (name) =>
    step(
      `axe: ${name} has no serious or critical violation`,
      () => axe.check(page, name, { log }),
      {
        blocking: false,
      },
    );

  const card = page.getByRole('article');
  const statusChip = (label) =>
    card.locator('atk-status-chip').getByText(label, { exact: true });
  const countdown = card.getByRole('timer');
  const button = (name) => card.getByRole('button', { name, exact: true });
  const nav = (name) =>
    page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });
  const table = page.getByRole('table', { name: 'Connections' });
  const tableRow = () =>
    table
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name: label, exact: true }) });
  const statusFilter = (name) =>
    page
      .getByRole('listbox', { name: 'Filter by status' })
      .getByRole('option', { name: new RegExp(`^${name}\\s+\\d+`) });
  /** From the Connections table to the connection's page, by its label's link. */
  const openFromTable = async () => {
    await see(tableRow(), `the row of “${label}”`);
    await table.getByRole('link', { name: label, exact: true }).click();
    await page.waitForURL(
      (url) => url.pathname === `/connections/${connectionId}`,
    );
    await see(
      card.getByRole('heading', { name: label, level: 2 }),
      `the page of “${label}”`,
    );
  };
  let label = '';
  let connectionId = '';

  const consentAndAllow = async (outcome) => {
    await eventually('the browser reached the sandbox consent page', () => {
      const url = new URL(page.url());
      return url.origin === sandboxUrl && url.pathname === '/ap/oa';
    });
    await see(
      page.getByRole('heading', {
        name: /would like to access your Amazon Advertising account/,
      }),
      'the consent page heading',
    );
    await see(
      page.getByText('advertising::campaign_management'),
      'the requested scope',
    );
    await screenshot(`consent-${outcome}`, { fullPage: true });
    await page.getByRole('radio', { name: ACCOUNT }).check();
    await page.getByRole('button', { name: 'Allow', exact: true }).click();
    // The API sends the browser to /connections?connect=…&connectionId=…, which the console
    // turns into the connection's own page.
    await page.waitForURL(
      (url) =>
        url.origin === webUrl && /^\/connections\/[^/]+$/.test(url.pathname),
    );
    return decodeURIComponent(new URL(page.url()).pathname.split('/')[2]);
  };

  await step('the console sends a visitor to the login page', async () => {
    await page.goto(`${webUrl}/connections`);
    await page.waitForURL((url) => url.pathname === '/login');
    const returnUrl = new URL(page.url()).searchParams.get('returnUrl');
    if (returnUrl !== '/connections')
      throw new Error(`returnUrl is “${returnUrl}”, not /connections`);
    await see(
      page.getByRole('heading', {
        name: 'Log in to ads-token-keeper',
        level: 1,
      }),
      'the login heading',
    );
    await see(
      page.getByLabel('Admin password', { exact: true }),
      'the password field',
    );
    await screenshot('login');
  });

  await axeStep('login page');

  await step('a wrong password is refused with a message', async () => {
    const password = page.getByLabel('Admin password', { exact: true });
    await password.fill('not-the-admin-password');
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    const message = await eventually(
      'the password field describes the error',
      async () => {
        // The error the field's aria-describedby points at, without its aria-hidden icon.
        const described = await password.evaluate((input) => {
          const target = document.getElementById(
            input.getAttribute('aria-describedby') ?? '',
          );
          if (input.getAttribute('aria-invalid') !== 'true' || !target)
            return '';
          const copy = /** @type {Element} */ (target.cloneNode(true));
          copy
            .querySelectorAll('[aria-hidden="true"]')
            .forEach((hidden) => hidden.remove());
          return copy.textContent.replace(/\s+/g, ' ').trim();
        });
        return described || false;
      },
    );
    await screenshot('login-refused');
    return `“${message}”`;
  });

  await step('log in with the admin password', async () => {
    await page
      .getByLabel('Admin password', { exact: true })
      .fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.waitForURL((url) => url.pathname === '/connections');
    await see(
      page.getByRole('heading', { name: 'Connections', level: 1 }),
      'the Connections heading',
    );
    await see(
      page.getByRole('heading', { name: 'No Amazon accounts connected yet' }),
      'the empty state (no connection yet)',
    );
    await see(
      page.getByRole('status').getByText('Live', { exact: true }),
      'the “Live” indicator (SSE through the proxy)',
    );
    await screenshot('connections-empty');
  });

  await step('connect: the sandbox consent page asks for consent', async () => {
    await page.getByRole('button', { name: 'Connect Amazon account' }).click();
    await page.getByRole('menuitem', { name: REGION }).click();
    connectionId = await consentAndAllow('connected');
  });

  await step(
    'connect: Allow comes back to the new connection’s page, Active',
    async () => {
      await see(
        page.getByRole('heading', { name: 'Connection', level: 1 }),
        'the Connection heading',
      );
      const message = await toast(
        page,
        /Connected “.+”\. Its tokens are now kept fresh\./,
        'the “Connected …” toast',
      );
      label = /“(.+)”/.exec(message)[1];
      if (!ACCOUNT.test(label))
        throw new Error(`the new connection is labelled “${label}”`);
      await see(
        card.getByRole('heading', { name: label, level: 2 }),
        `a card for “${label}”`,
      );
      await see(statusChip('Active'), 'the “Active” status chip');
      await see(card.getByText(REGION), 'the region');
      await see(card.getByText('Just connected'), 'the “Just connected” badge');
      await see(
        card.getByRole('button', { name: /^\d+ advertising profiles?$/ }),
        'the advertising profiles',
      );
      await see(countdown, 'the access-token countdown');
      await screenshot('connected');
      return `“${label}”`;
    },
  );

  await step('the access-token countdown goes down', async () => {
    const first = secondsOf(await countdown.innerText());
    if (first > 3600 || first < 3300)
      throw new Error(`a new token reads ${first} s left, not about an hour`);
    await sleep(2500);
    const second = secondsOf(await countdown.innerText());
    if (!(second < first))
      throw new Error(`it read ${first} s, then ${second} s 2.5 s later`);
    const line = (
      await card.getByText('Access token expires in').innerText()
    ).replace(/\s+/g, ' ');
    await screenshot('countdown');
    return `${line}; ${first} s → ${second} s`;
  });

  await axeStep('the connection’s page');

  await step(
    'the Connections table lists it, with its status, countdown and counts',
    async () => {
      await nav('Connections').click();
      await page.waitForURL((url) => url.pathname === '/connections');
      await see(table, 'the connections table');
      const row = tableRow();
      await see(row, `the row of “${label}”`);
      await see(
        row.locator('atk-status-chip').getByText('Active', { exact: true }),
        'the “Active” status chip in the row',
      );
      await see(row.getByText(REGION), 'the region in the row');
      const first = secondsOf(await row.getByRole('timer').innerText());
      await see(statusFilter('Active'), 'the “Active” status filter');
      const active = (await statusFilter('Active').innerText()).replace(
        /\s+/g,
        ' ',
      );
      if (!/ 1$/.test(active))
        throw new Error(`the Active chip reads “${active}”, not 1`);
      await screenshot('connections-table');
      return `countdown ${first} s; chip “${active}”`;
    },
  );

  await step(
    'search and status filter narrow the table, Clear filters brings it back',
    async () => {
      const search = page.getByRole('searchbox', { name: 'Search' });
      await search.fill('no-such-connection-anywhere');
      await see(
        page.getByRole('heading', {
          name: 'No connection matches these filters',
        }),
        'the “nothing matches” state',
      );
      await search.fill('');
      await see(tableRow(), 'the row again once the search is empty');
      await statusFilter('Needs re-auth').click();
      await see(
        page.getByRole('heading', {
          name: 'No connection matches these filters',
        }),
        'nothing “Needs re-auth”',
      );
      await page.getByRole('button', { name: 'Clear filters' }).click();
      await see(tableRow(), 'the row after Clear filters');
      const word = label.split(/\s+/)[0].toLowerCase();
      await search.fill(word);
      await see(tableRow(), `the row when searching “${word}”`);
      await search.fill('');
      await see(tableRow(), 'the row with no search');
    },
  );

  await axeStep('connections table with a connection');

  await step(
    'at phone width the connections page fits the screen',
    async () => {
      await page.setViewportSize(PHONE);
      await see(
        page.getByRole('button', { name: 'Navigation menu' }),
        'the navigation menu button',
      );
      // The side navigation slides away (it becomes a drawer): wait for it to be gone.
      await seeNo(
        page.getByRole('navigation', { name: 'Main' }),
        'the side navigation',
      );
      await see(table, 'the connections table');
      await see(
        tableRow().locator('atk-status-chip').getByText('Active'),
        'the status chip',
      );
      await settle(page);
      const { overflow, culprits } = await page.evaluate(() => {
        const width = document.documentElement.clientWidth;
        const describe = (element) =>
          element.tagName.toLowerCase() +
          (element.id ? `#${element.id}` : '') +
          Array.from(element.classList, (name) => `.${name}`)
            .slice(0, 4)
            .join('');
        const wide = new Set(
          Array.from(document.body.querySelectorAll('*')).filter(
            (element) => element.getBoundingClientRect().right > width + 0.5,
          ),
        );
        // The outermost ones: their children stick out with them.
        const outermost = [...wide].filter(
          (element) => !wide.has(element.parentElement),
        );
        return {
          overflow: document.documentElement.scrollWidth - width,
          culprits: outermost
            .slice(0, 4)
            .map(
              (element) =>
                `${describe(element)} (right edge at ${Math.round(element.getBoundingClientRect().right)} px)`,
            ),
        };
      });
      await screenshot('connections-phone', { fullPage: true });
      if (overflow > 0) {
        throw new Error(
          `the page scrolls sideways by ${overflow} px at ${PHONE.width} px; past the edge: ${culprits.join(', ') || 'nothing found'}`,
        );
      }
    },
    { blocking: false },
  );
  // Back to the desktop width after the phone check (and its failure screenshot).
  await page.setViewportSize(DESKTOP).catch(() => undefined);
  await settle(page).catch(() => undefined);

  await step('the row’s label opens the connection’s page', async () => {
    await openFromTable();
    await see(countdown, 'the access-token countdown');
  });

  const useFromJobs = () =>
    page.getByRole('dialog', { name: `Use “${label}” from your jobs` });

  await step(
    'Use from your jobs: the base URL and a curl with a placeholder key',
    async () => {
      await button('Use from your jobs').click();
      const dialog = useFromJobs();
      await see(dialog, 'the “Use from your jobs” dialog');
      const base = `${webUrl}/api/v1/connections/${connectionId}/ads`;
      await see(
        dialog.getByText(base, { exact: true }),
        `the base URL ${base}`,
      );
      const curl = await dialog.locator('pre.curl').innerText();
      const wanted = [
        'Authorization: Bearer $KEEPER_SERVICE_KEY',
        /Amazon-Advertising-API-Scope: \d+/,
        `${base}/v2/profiles`,
      ];
      const missing = wanted.filter((part) =>
        typeof part === 'string' ? !curl.includes(part) : !part.test(curl),
      );
      if (missing.length)
        throw new Error(`the curl “${curl}” lacks ${missing.join(', ')}`);
      await screenshot('use-from-jobs');
      return base;
    },
  );

  await axeStep('the “Use from your jobs” dialog');

  await step(
    'Escape closes the dialog and the focus is back on its button',
    async () => {
      await page.keyboard.press('Escape');
      await seeNo(useFromJobs(), 'the dialog');
      await eventually('the focus on “Use from your jobs”', () =>
        button('Use from your jobs').evaluate(
          (element) => element === document.activeElement,
        ),
      );
    },
  );

  await step('Refresh now: a new access token that expires later', async () => {
    const before = secondsOf(await countdown.innerText());
    const expiryBefore = Date.now() + before * 1000;
    await button('Refresh now').click();
    const message = await toast(
      page,
      /Refreshed “.+” in \d+ ms\. The new access token lasts until .+\./,
      'the “Refreshed …” toast',
    );
    const newExpiry = parseExactTime(message.split('lasts until')[1]);
    if (!(newExpiry > expiryBefore)) {
      throw new Error(
        `the new expiry ${new Date(newExpiry).toISOString()} is not after the old one (${new Date(expiryBefore).toISOString()})`,
      );
    }
    await see(countdown, 'the countdown after the refresh');
    const after = await eventually(
      'the countdown shows more time left than before',
      async () => {
        const seconds = secondsOf(await countdown.innerText());
        return seconds > before ? seconds : false;
      },
    );
    await see(
      card.getByText('just now', { exact: true }).first(),
      '“Last refresh: just now”',
    );
    await screenshot('refreshed');
    return `${before} s → ${after} s left; “…${message.slice(message.indexOf('The new access token'))}”`;
  });

  await step(
    'Amazon answers invalid_grant: the connection needs re-auth',
    async () => {
      await sandbox.queueFault({ endpoint: 'token', kind: 'invalid_grant' });
      await button('Refresh now').click();
      const message = await toast(
        page,
        /Refreshing “.+” failed: /,
        'the “Refreshing … failed” toast',
      );
      await see(statusChip('Needs re-auth'), 'the “Needs re-auth” status chip');
      await see(
        card.getByText(
          'Amazon no longer accepts the refresh token; only reconnecting helps.',
        ),
        'what the status means',
      );
      await see(button('Reconnect'), 'the Reconnect button');
      await seeNo(button('Refresh now'), 'the Refresh now button');
      const left = await sandbox.faults();
      if (left.length)
        throw new Error(
          `the sandbox still holds ${left.length} queued fault(s)`,
        );
      await screenshot('needs-reauth');
      return `“${message.slice(0, 220)}”`;
    },
  );

  await step('Reconnect through the consent page: Active again', async () => {
    await button('Reconnect').click();
    const reconnectedId = await consentAndAllow('reconnected');
    if (reconnectedId !== connectionId)
      throw new Error(
        `back on connection ${reconnectedId}, not ${connectionId}: reconnecting made a new connection`,
      );
    await toast(
      page,
      `Reconnected “${label}”. Its tokens are fresh again.`,
      'the “Reconnected …” toast',
    );
    await see(statusChip('Active'), 'the “Active” status chip');
    await see(
      card.getByText('Just reconnected'),
      'the “Just reconnected” badge',
    );
    await see(countdown, 'a countdown again');
    await screenshot('reconnected');
  });

  const eventRows = async () => {
    const table = page.getByRole('table', {
      name: 'Audit events, newest first',
    });
    await see(table, 'the audit table');
    const rows = table
      .getByRole('row')
      .filter({ has: page.getByRole('button', { name: /^Details of / }) });
    const cells = await rows.evaluateAll((elements) =>
      elements.map((row) =>
        Array.from(row.querySelectorAll('td'), (cell) => {
          // What a reader hears: without the aria-hidden icons.
          const copy = /** @type {Element} */ (cell.cloneNode(true));
          copy
            .querySelectorAll('[aria-hidden="true"]')
            .forEach((hidden) => hidden.remove());
          return copy.textContent.replace(/\s+/g, ' ').trim();
        }),
      ),
    );
    return cells.map(([when, type, connection, actor]) => ({
      when,
      type,
      connection,
      actor,
    }));
  };

  await step(
    'the audit lists connected, manual refresh, needs re-auth, reconnected',
    async () => {
      await nav('Audit').click();
      await see(
        page.getByRole('heading', { name: 'Audit', level: 1 }),
        'the Audit heading',
      );
      const expected = [
        'Reconnected',
        'Needs re-auth',
        'Manual refresh',
        'Connected',
      ];
      // Rows name the connection by label once its label arrives (by id until then).
      const rows = await eventually(
        'the four events, newest first, naming the connection',
        async () => {
          const found = await eventRows();
          let next = 0;
          for (const row of found) if (row.type === expected[next]) next += 1;
          if (next < expected.length) {
            throw new Error(
              `rows read ${found.map((row) => row.type).join(', ') || 'nothing'}`,
            );
          }
          for (const type of expected) {
            const row = found.find((candidate) => candidate.type === type);
            if (row.connection !== label)
              throw new Error(
                `the “${type}” row names “${row.connection}”, not “${label}”`,
              );
          }
          return found;
        },
      );
      await screenshot('audit');
      return rows.map((row) => row.type).join(', ');
    },
  );

  await axeStep('audit page');

  await step(
    'the audit page shows a new event live (SSE through the proxy)',
    async () => {
      // The page must not reload: a mark on `window` would be gone.
      await page.evaluate(() => {
        /** @type {any} */ (window).__e2eMark = true;
      });
      const before = (await eventRows()).length;
      // Another admin's "Refresh now", as the API sees it (same session, not this page).
      const answer = await page.request.post(
        `${webUrl}/api/v1/connections/${encodeURIComponent(connectionId)}/refresh`,
      );
      if (!answer.ok()) {
        throw new Error(`POST …/refresh answered ${answer.status()}`);
      }
      await eventually('a new “Manual refresh” row on top', async () => {
        const rows = await eventRows();
        return rows.length === before + 1 && rows[0].type === 'Manual refresh';
      });
      // Polling would also bring it in; the indicator says the stream is what is up.
      await see(
        page.getByRole('status').getByText('Live', { exact: true }),
        'the “Live” indicator',
      );
      if (
        !(await page.evaluate(
          () => /** @type {any} */ (window).__e2eMark === true,
        ))
      ) {
        throw new Error('the page reloaded instead of updating live');
      }
      await screenshot('audit-live');
    },
    { blocking: false },
  );

  await step(
    'the audit’s connection filter finds the connection as you type',
    async () => {
      const filter = page.getByRole('combobox', { name: 'Connection' });
      await filter.fill(label.slice(0, 8));
      const option = page.getByRole('option', { name: label, exact: true });
      await see(option, `“${label}” offered`);
      await option.click();
      await page.waitForURL(
        (url) => url.searchParams.get('connectionId') === connectionId,
      );
      await eventually('its events only', async () => {
        const rows = await eventRows();
        return rows.length > 0 && rows.every((row) => row.connection === label);
      });
      if ((await filter.inputValue()) !== label)
        throw new Error(`the filter reads “${await filter.inputValue()}”`);
      await screenshot('audit-filtered');
      await page.getByRole('button', { name: 'Show every connection' }).click();
      await page.waitForURL((url) => !url.searchParams.has('connectionId'));
    },
  );

  // A key for jobs limited to the journey's connection, found with the picker's search.
  const keyName = 'E2E nightly job';
  let serviceKey = '';
  /** `GET …/access-token` as a job calls it: with the key, without the admin's cookie. */
  const accessTokenStatus = async (id) =>
    (
      await fetch(
        `${webUrl}/api/v1/connections/${encodeURIComponent(id)}/access-token`,
        { headers: { authorization: `Bearer ${serviceKey}` } },
      )
    ).status;
  const keyRow = () =>
    page
      .getByRole('table', { name: 'Keys for jobs, newest first' })
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name: keyName }) });

  await step(
    'Service keys: the picker’s search finds the connection, and it is chosen',
    async () => {
      await nav('Service keys').click();
      await see(
        page.getByRole('heading', { name: 'Service keys', level: 1 }),
        'the Service keys heading',
      );
      await page.getByRole('button', { name: 'New key' }).click();
      const dialog = page.getByRole('dialog', { name: 'New key for jobs' });
      await see(dialog, 'the “New key for jobs” dialog');
      await dialog.getByLabel('Name').fill(keyName);
      await dialog.getByRole('radio', { name: 'Chosen connections' }).check();
      const picker = dialog.getByRole('group', { name: /^Connections/ });
      await see(picker, 'the connection picker');
      // A part of the label, as an admin would type it: the API searches.
      await dialog
        .getByLabel('Search by name, account or profile')
        .fill(label.slice(0, 8));
      // Its name: the label, then the region and the id.
      const choice = picker.getByRole('checkbox', { name: label });
      await see(choice, `“${label}” among the matches`);
      await choice.check();
      await see(
        picker.getByText('Connections (1 chosen)'),
        'the legend counting 1 chosen',
      );
      await screenshot('service-key-picker');
    },
  );

  await axeStep('the “New key” dialog with the picker');

  await step(
    'the key is shown once, then listed with the connection by name',
    async () => {
      const dialog = page.getByRole('dialog', { name: 'New key for jobs' });
      await dialog.getByRole('button', { name: 'Create key' }).click();
      const shown = page.getByRole('dialog', {
        name: `Copy the key for “${keyName}”`,
      });
      await see(shown, 'the key, shown once');
      await see(
        shown.getByText('You will not see this key again.'),
        'the warning that it is shown once',
      );
      await see(
        shown.getByText(/It may read 1 connection;/),
        '“It may read 1 connection”',
      );
      serviceKey = (await shown.locator('code.key').innerText()).trim();
      if (!/^\S{20,}$/.test(serviceKey))
        throw new Error(`the key reads “${serviceKey}”`);
      await screenshot('service-key-shown');
      await shown.getByRole('button', { name: 'I have copied it' }).click();
      await seeNo(shown, 'the dialog');
      await see(
        keyRow().getByRole('cell', { name: `1 connection ${label}` }),
        'the key’s row naming the connection',
      );
      if (await page.getByText(serviceKey).count())
        throw new Error('the key is still on the page');
    },
  );

  await axeStep('service keys page');

  await step(
    'the key reads its connection’s token (200), not another connection (404)',
    async () => {
      const own = await accessTokenStatus(connectionId);
      if (own !== 200) throw new Error(`its connection answered ${own}`);
      const other = await accessTokenStatus(randomUUID());
      if (other !== 404)
        throw new Error(`another connection answered ${other}`);
      return '200, 404';
    },
  );

  await step('revoke the key: the same call is refused (401)', async () => {
    await keyRow()
      .getByRole('button', { name: `Revoke “${keyName}”` })
      .click();
    const dialog = page.getByRole('dialog', { name: `Revoke “${keyName}”?` });
    await see(dialog, 'the revoke dialog');
    await dialog.getByRole('button', { name: 'Revoke', exact: true }).click();
    await seeNo(dialog, 'the dialog');
    await toast(
      page,
      `Revoked “${keyName}”. Jobs using it are refused from now on.`,
      'the “Revoked …” toast',
    );
    await see(
      keyRow().getByRole('cell', { name: /^Revoked/ }),
      'the row saying Revoked',
    );
    // Every replica learns of it within a second.
    await eventually('the key refused', async () => {
      const status = await accessTokenStatus(connectionId);
      return status === 401 ? status : false;
    });
    await screenshot('service-key-revoked');
    return '401';
  });

  // Connect links: the admin makes one; the account's owner, in a browser of their own with
  // no keeper login, opens it, consents on the sandbox and sees the done page; the console
  // shows the new connection and the link used; opened again, the link is refused.
  const linkLabel = `E2E owner ${randomUUID().slice(0, 8)}`;
  let linkUrl = '';
  /** @type {import('playwright-core').BrowserContext | undefined} */
  let ownerContext;
  /** @type {import('playwright-core').Page | undefined} */
  let ownerPage;
  const OWNER_ACCOUNT = /Northwind Media \(agency\)/;
  const linkRow = () =>
    page
      .getByRole('table', { name: 'Connect links, newest first' })
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name: linkLabel }) });

  await step(
    'Connect links: a new link is shown once, then listed as Open',
    async () => {
      await nav('Connect links').click();
      await see(
        page.getByRole('heading', { name: 'Connect links', level: 1 }),
        'the Connect links heading',
      );
      await page.getByRole('button', { name: 'New link' }).click();
      const dialog = page.getByRole('dialog', { name: 'New connect link' });
      await see(dialog, 'the “New connect link” dialog');
      await dialog.getByRole('radio', { name: REGION }).check();
      await dialog.getByLabel('Label (optional)').fill(linkLabel);
      await dialog.getByRole('button', { name: 'Create link' }).click();
      const shown = page.getByRole('dialog', { name: 'Copy the link' });
      await see(shown, 'the link, shown once');
      linkUrl = (await shown.locator('code.url').innerText()).trim();
      if (
        !new RegExp(`^${webUrl}/api/v1/connect/[A-Za-z0-9_-]{43}$`).test(
          linkUrl,
        )
      )
        throw new Error(`the link reads “${linkUrl}”`);
      await screenshot('connect-link-shown');
      await shown.getByRole('button', { name: 'I have copied it' }).click();
      await seeNo(shown, 'the dialog');
      await see(
        linkRow().getByRole('cell', { name: /^Open/ }),
        'the row saying Open',
      );
    },
  );

  await step(
    'the owner opens the link in a separate browser (no keeper login), consents, and sees the done page',
    async () => {
      ownerContext = await page.context().browser().newContext({
        viewport: DESKTOP,
        locale: 'en-GB',
        timezoneId: 'UTC',
      });
      ownerPage = await ownerContext.newPage();
      await ownerPage.goto(linkUrl);
      await see(
        ownerPage.getByRole('heading', {
          name: 'Connect your Amazon Ads account',
          level: 1,
        }),
        'the owner’s page heading',
      );
      await see(ownerPage.getByText(linkLabel), 'the link’s label');
      await see(
        ownerPage.getByText(/advertising::campaign_management/),
        'the scope asked for',
      );
      await ownerPage.screenshot({
        path: join(outDir, 'connect-link-owner-page.png'),
      });
      await ownerPage
        .getByRole('button', { name: 'Continue to Amazon' })
        .click();
      await eventually('the owner reached the sandbox consent page', () => {
        const url = new URL(ownerPage.url());
        return url.origin === sandboxUrl && url.pathname === '/ap/oa';
      });
      await ownerPage.getByRole('radio', { name: OWNER_ACCOUNT }).check();
      await ownerPage
        .getByRole('button', { name: 'Allow', exact: true })
        .click();
      await ownerPage.waitForURL(
        (url) =>
          url.origin === webUrl && url.pathname === '/api/v1/connect/done',
      );
      await see(
        ownerPage.getByRole('heading', {
          name: 'Done: the account is connected',
        }),
        'the done page',
      );
      const final = new URL(ownerPage.url());
      if (final.search !== '?outcome=connected')
        throw new Error(`the done page's address carries ${final.search}`);
      const cookies = await ownerContext.cookies();
      if (cookies.some((cookie) => cookie.name === 'atk_session'))
        throw new Error('the owner’s browser has a keeper session');
      await ownerPage.screenshot({
        path: join(outDir, 'connect-link-done.png'),
      });
      return final.pathname + final.search;
    },
  );

  await step(
    'the console lists the link as Used and shows the new connection',
    async () => {
      await eventually('the link listed as Used', async () => {
        await page.reload();
        return (
          (await linkRow().getByRole('cell', { name: /^Used/ }).count()) > 0
        );
      });
      await linkRow().getByRole('link', { name: 'Open connection' }).click();
      await page.waitForURL((url) =>
        /^\/connections\/[^/]+$/.test(url.pathname),
      );
      await see(
        card.getByRole('heading', {
          name: /Northwind Media|Amazon Ads account/,
          level: 2,
        }),
        'the new connection’s page',
      );
      await see(statusChip('Active'), 'the “Active” status chip');
      await screenshot('connect-link-connection');
    },
  );

  await step('the used link, opened again, is refused', async () => {
    await ownerPage.goto(linkUrl);
    await see(
      ownerPage.getByRole('heading', {
        name: 'This link was already used',
        level: 1,
      }),
      'the refusal page',
    );
    await ownerContext.close();
    ownerContext = undefined;
  });

  await step('the system page: every readiness check is up', async () => {
    await nav('System').click();
    await see(
      page.getByRole('heading', { name: 'System', level: 1 }),
      'the System heading',
    );
    await see(
      page.getByRole('heading', { name: 'Readiness checks' }),
      'the readiness checks',
    );
    await see(page.getByText(/Every check is up/), '“Every check is up”');
    // The page scrolls inside the shell, so a full-page screenshot needs a taller window.
    await page.setViewportSize({ width: DESKTOP.width, height: 1400 });
    try {
      await screenshot('system');
    } finally {
      await page.setViewportSize(DESKTOP);
    }
  });

  await axeStep('system page');

  await step('disconnect through the confirmation dialog', async () => {
    await nav('Connections').click();
    await openFromTable();
    await see(statusChip('Active'), 'the connection, Active');
    await button('Disconnect').click();
    const dialog = page.getByRole('dialog', { name: `Disconnect “${label}”?` });
    await see(dialog, 'the confirmation dialog');
    await see(
      dialog.getByText('Its audit trail is kept.', { exact: false }),
      'what the dialog says is kept',
    );
    await screenshot('disconnect-dialog');
    await dialog
      .getByRole('button', { name: 'Disconnect', exact: true })
      .click();
    await seeNo(dialog, 'the dialog');
    await toast(
      page,
      `Disconnected “${label}”. Its tokens are erased; its audit trail is kept.`,
      'the “Disconnected …” toast',
    );
    await see(statusChip('Disconnected'), 'the “Disconnected” status chip');
    await see(
      card.getByText('No access token', { exact: true }),
      '“No access token”',
    );
    await seeNo(button('Disconnect'), 'the Disconnect button');
    await screenshot('disconnected');
  });

  await step(
    'the table shows it Disconnected, and the chips count it',
    async () => {
      await page.getByRole('link', { name: 'All connections' }).click();
      await see(
        tableRow().locator('atk-status-chip').getByText('Disconnected'),
        'the “Disconnected” chip in the row',
      );
      await eventually('the Disconnected filter counts 1', async () =>
        / 1$/.test(
          (await statusFilter('Disconnected').innerText()).replace(/\s+/g, ' '),
        ),
      );
      await screenshot('table-after-disconnect');
    },
  );

  await step('the audit keeps the disconnect', async () => {
    await nav('Audit').click();
    const rows = await eventually('a “Disconnected” row on top', async () => {
      const found = await eventRows();
      return found[0]?.type === 'Disconnected' ? found : false;
    });
    await screenshot('audit-after-disconnect');
    return `${rows.length} events`;
  });

  await step(
    'the console threw no uncaught error',
    async () => {
      if (pageErrors.length)
        throw new Error(pageErrors.slice(0, 3).join(' | '));
    },
    { blocking: false },
  );
}
