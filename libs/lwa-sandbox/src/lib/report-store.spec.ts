import { buffer } from 'node:stream/consumers';
import { ReportStore, reportBody } from './report-store';

describe(reportBody.name, () => {
  it.each([2, 3, 50, 200, 4096, 61_000, 65_536, 1_000_003])(
    'is a JSON array of exactly %i bytes',
    async (bytes) => {
      const body = await buffer(reportBody(bytes));

      expect(body.length).toBe(bytes);
      expect(Array.isArray(JSON.parse(body.toString('latin1')))).toBe(true);
    },
  );
});

describe(ReportStore.name, () => {
  const fields = {
    accountId: 'A1SANDBOXACME01',
    profileId: '1',
    name: 'r',
    startDate: null,
    endDate: null,
    configuration: {},
    createdAtMs: Date.UTC(2026, 0, 1),
    bytes: 10,
  };

  it('accepts the URL it signed, until it expires', () => {
    const sut = new ReportStore();
    const report = sut.create(fields, 0);
    const url = new URL(
      sut.downloadUrl(report, fields.createdAtMs, 'http://sandbox'),
    );

    const fresh = sut.checkDownload(
      url.pathname,
      url.searchParams,
      fields.createdAtMs + 3600_000,
    );
    const late = sut.checkDownload(
      url.pathname,
      url.searchParams,
      fields.createdAtMs + 3600_001,
    );

    expect(fresh).toEqual({ ok: true, report });
    expect(late).toMatchObject({ ok: false, status: 403 });
  });

  it('refuses another store’s URL (each sandbox signs with its own key)', () => {
    const signer = new ReportStore();
    const url = new URL(
      signer.downloadUrl(
        signer.create(fields, 0),
        fields.createdAtMs,
        'http://sandbox',
      ),
    );

    expect(
      new ReportStore().checkDownload(
        url.pathname,
        url.searchParams,
        fields.createdAtMs,
      ),
    ).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
  });
});
