import { Logger } from '@nestjs/common';
import { LwaInvalidGrantError } from '../amazon/lwa.errors';
import type { LwaClient } from '../amazon/lwa.client';
import type { AuditService } from '../audit/audit.service';
import type { ConnectionTwins } from '../connections/connection-twins';
import type { ConnectionsRepository } from '../connections/connections.repository';
import { ConnectionImporter } from './connection-importer';
import type { ImportEntry } from './import-file';

function entries(count: number): ImportEntry[] {
  return Array.from({ length: count }, (_, index) => ({
    line: index + 2,
    region: 'na',
    refreshToken: `Atzr|token-${index}`,
  }));
}

/** An importer on fakes: Amazon answers after a turn of the event loop, the database saves. */
function importer(
  options: {
    refresh?: (token: string) => Promise<unknown>;
    save?: (token: string | undefined) => Promise<unknown>;
  } = {},
) {
  let inFlight = 0;
  let mostInFlight = 0;
  const lwa = {
    refresh: jest.fn(async (_region: string, token: string) => {
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      if (options.refresh) await options.refresh(token);
      return {
        accessToken: `Atza|access-${token}`,
        expiresInSeconds: 3600,
      };
    }),
    listProfiles: jest.fn(async (_region: string, accessToken: string) => [
      {
        profileId: accessToken,
        accountId: `account-${accessToken}`,
      },
    ]),
  };
  let saved = 0;
  const connections = {
    transaction: (work: (manager: unknown) => Promise<unknown>) => work({}),
    findSameAccount: async () => null,
    saveConsent: async (fields: { refreshToken?: string }) => {
      if (options.save) await options.save(fields.refreshToken);
      saved += 1;
      return { id: `connection-${saved}` };
    },
  };
  const twins = { lockAccounts: async () => undefined, merge: jest.fn() };
  const audit = { record: jest.fn(async () => undefined) };
  return {
    importer: new ConnectionImporter(
      connections as unknown as ConnectionsRepository,
      twins as unknown as ConnectionTwins,
      lwa as unknown as LwaClient,
      audit as unknown as AuditService,
    ),
    lwa,
    audit,
    mostInFlight: () => mostInFlight,
  };
}

const run = { actor: 'cli', correlationId: 'test' };

describe(ConnectionImporter.name, () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('proves at most 8 tokens at a time, each exactly once', async () => {
    const { importer: subject, lwa, mostInFlight } = importer();
    const summary = await subject.import(
      { lines: 50, entries: entries(50), failures: [] },
      run,
    );
    expect(summary).toMatchObject({ imported: 50, failed: 0 });
    expect(lwa.refresh).toHaveBeenCalledTimes(50);
    expect(new Set(lwa.refresh.mock.calls.map((call) => call[1])).size).toBe(
      50,
    );
    expect(mostInFlight()).toBe(8);
  });

  it('fails only the line Amazon refuses, or whose save fails, and keeps the parse failures', async () => {
    const { importer: subject, audit } = importer({
      refresh: async (token) => {
        if (token === 'Atzr|token-1')
          throw new LwaInvalidGrantError('refresh_token');
      },
      save: async (token) => {
        if (token === 'Atzr|token-3') throw new Error('connection reset');
      },
    });
    const summary = await subject.import(
      {
        lines: 6,
        entries: entries(5),
        failures: [{ line: 7, reason: 'Unknown region' }],
      },
      run,
    );
    expect(summary).toEqual({
      lines: 6,
      imported: 3,
      skipped: 0,
      failed: 3,
      failures: [
        { line: 3, reason: expect.stringMatching(/invalid_grant/) },
        { line: 5, reason: expect.stringMatching(/^Saving failed/) },
        { line: 7, reason: 'Unknown region' },
      ],
      skippedLines: [],
    });
    expect(JSON.stringify(summary)).not.toContain('Atzr');
    expect(audit.record).toHaveBeenCalledTimes(3);
  });
});
