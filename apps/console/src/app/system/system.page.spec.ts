import type { ApiErrorDto, SystemStatusDto } from '@keeper/contracts';
import { aSystemStatus } from '../../testing/fixtures';
import {
  readableText,
  readableTexts,
  renderConsole,
  RenderedConsole,
  textOf,
  toastText,
} from '../../testing/render-console';
import { formatDuration } from './readiness-checks';
import { SystemPage } from './system.page';

describe(SystemPage.name, () => {
  async function render(status?: SystemStatusDto): Promise<RenderedConsole> {
    const sut = await renderConsole('/system');
    if (status) {
      sut.http.expectOne('/api/v1/system').flush(status);
      await sut.settle();
    }
    return sut;
  }

  it('says it is loading until the status arrives', async () => {
    const sut = await render();

    expect(textOf(sut.root, 'main [role="status"]')).toBe(
      'Loading the system status…',
    );
  });

  it('lists each readiness check, up or down in words, with what it means and why it is down', async () => {
    const sut = await render(aSystemStatus());

    expect(readableTexts(sut.root, '.check')).toEqual([
      'Up Database The API reaches its PostgreSQL database, where tokens and the audit trail live.',
      'Up Migrations Every database migration is applied, so the tables are the shape the API expects.',
      'Up Encryption keys Every stored secret is encrypted under a key in FERNET_KEYS, so the API can read it.',
      'Down Refresh scheduler The scheduler has ticked recently, so tokens are refreshed before they expire. The refresh scheduler has not ticked for 190 s.',
      'Up Amazon Amazon accepts the client id and secret, and refreshes are not paused.',
    ]);
    expect(
      readableText(sut.root, '[aria-labelledby="checks-heading"] .summary'),
    ).toBe('1 of 5 checks are down: the API answers /health/ready with 503.');
  });

  it('says when the LWA sandbox stands in for Amazon', async () => {
    const sut = await render(aSystemStatus({ usingSandbox: true }));

    expect(readableText(sut.root, '.note.sandbox')).toContain(
      'The LWA sandbox stands in for Amazon.',
    );
  });

  it('says when Amazon itself is used', async () => {
    const sut = await render(aSystemStatus({ usingSandbox: false }));

    expect(sut.root.querySelector('.note.sandbox')).toBeNull();
    expect(readableText(sut.root, '.amazon .note')).toBe(
      "Connections use Amazon's own Login with Amazon service.",
    );
  });

  it('lists the key ids with their role and the rows each one encrypts', async () => {
    const sut = await render(
      aSystemStatus({
        keys: [
          { keyId: 'k-3f9a', primary: true, configured: true, rows: 12 },
          { keyId: 'k-0ld1', primary: false, configured: false, rows: 2 },
        ],
      }),
    );

    expect(readableTexts(sut.root, 'table.keys th')).toEqual([
      'Key id',
      'Role',
      'Configured',
      'Rows',
    ]);
    expect(
      Array.from(sut.root.querySelectorAll('table.keys tbody tr')).map((row) =>
        readableTexts(row, 'td'),
      ),
    ).toEqual([
      ['k-3f9a', 'Primary', 'Yes', '12'],
      ['k-0ld1', 'Older', 'No: rows unreadable', '2'],
    ]);
  });

  it("shows the scheduler's last tick, its schedule and the refresh window", async () => {
    const sut = await render(aSystemStatus());

    expect(readableText(sut.root, '.last-tick')).toMatch(/^just now \(.+\)$/);
    expect(readableText(sut.root, '.refresh-window')).toBe(
      '5 min: a token is refreshed once it expires within this window (REFRESH_WINDOW_SECONDS).',
    );
    expect(readableTexts(sut.root, '.facts dd')[1]).toBe(
      '0 * * * * * (REFRESH_CRON)',
    );
    expect(sut.root.querySelector('.note.paused')).toBeNull();
  });

  it('says why refreshes are paused when they are', async () => {
    const sut = await render(
      aSystemStatus({
        schedulerLastTickAt: null,
        refreshPausedReason:
          'Amazon rejects the client credentials (invalid_client).',
      }),
    );

    expect(readableText(sut.root, '.last-tick')).toBe('Not yet');
    expect(readableText(sut.root, '.note.paused')).toBe(
      'Refreshes are paused. Amazon rejects the client credentials (invalid_client).',
    );
  });

  it('offers to try again when the status did not load', async () => {
    const sut = await render();
    const notFound: ApiErrorDto = {
      statusCode: 404,
      error: 'Not Found',
      message: 'Cannot GET /api/v1/system',
      correlationId: 'req-404',
    };
    sut.http
      .expectOne('/api/v1/system')
      .flush(notFound, { status: 404, statusText: 'Not Found' });
    await sut.settle();

    expect(toastText()).toBe(
      'Cannot GET /api/v1/system (correlation id req-404)',
    );
    expect(textOf(sut.root, 'atk-empty-state h2')).toBe(
      'The system status did not load',
    );
    expect(readableText(sut.root, 'atk-empty-state .body')).toContain(
      'Cannot GET /api/v1/system Correlation id req-404',
    );

    sut.root
      .querySelector<HTMLButtonElement>('atk-empty-state button')
      ?.click();
    await sut.settle();
    sut.http.expectOne('/api/v1/system').flush(aSystemStatus());
    await sut.settle();

    expect(sut.root.querySelectorAll('.check')).toHaveLength(5);
  });

  it('reads the status again while the live stream is down', async () => {
    const sut = await render(aSystemStatus());

    sut.eventSources.latest.fail();
    await sut.settle();

    sut.http
      .expectOne('/api/v1/system')
      .flush(aSystemStatus({ usingSandbox: false }));
    await sut.settle();
    expect(sut.root.querySelector('.note.sandbox')).toBeNull();
  });
});

describe(formatDuration.name, () => {
  it.each([
    [300, '5 min'],
    [90, '1 min 30 s'],
    [45, '45 s'],
  ])('writes %i s as %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
