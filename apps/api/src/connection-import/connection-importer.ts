import { Injectable, Logger } from '@nestjs/common';
import {
  IMPORT_LIMITS,
  type AdsProfileDto,
  type ImportLineFailureDto,
  type ImportSummaryDto,
} from '@keeper/contracts';
import { LwaClient, type LwaTokenSet } from '../amazon/lwa.client';
import { LwaError } from '../amazon/lwa.errors';
import { AuditService } from '../audit/audit.service';
import { accountIdsOf, isLive } from '../connections/connection-rules';
import { defaultConnectionLabel } from '../connections/connection-label';
import { ConnectionEntity } from '../connections/connection.entity';
import { ConnectionTwins } from '../connections/connection-twins';
import { ConnectionsRepository } from '../connections/connections.repository';
import type { ImportEntry, ParsedImport } from './import-file';

/** Retries of one proof's refresh (and of its profile read), for transient errors only. */
const PROOF_MAX_RETRIES = 2;

export interface ImportRun {
  /** `cli` or `admin`: the actor of the audit events. */
  actor: string;
  correlationId: string;
  /** After each line is settled (for the CLI's progress). */
  onLineDone?: (done: number, total: number) => void;
}

type LineOutcome =
  | { kind: 'imported'; connectionId: string }
  | { kind: 'skipped'; connectionId: string }
  | { kind: 'failed'; reason: string };

/**
 * Imports existing refresh tokens (README, "Import and export"). Each token is proven by
 * exactly one refresh (retried only for transient errors) before anything is saved; then its
 * profiles are read, as a consent reads them, to learn the Amazon account, and it is saved
 * under the current key, active, in one transaction with its `imported` audit event.
 *
 * A line whose account already has a live connection here is skipped (a rerun saves nothing
 * new). When the proof's refresh brought a new refresh token (Amazon rotated it), the old one
 * may no longer work, so the skipped connection takes the new tokens (audited as `imported`
 * with `tokensUpdated`): the rotated token is never lost. A disconnected connection of the same
 * account is brought back, as a reconnect brings it back.
 */
@Injectable()
export class ConnectionImporter {
  private readonly logger = new Logger(ConnectionImporter.name);

  constructor(
    private readonly connections: ConnectionsRepository,
    private readonly twins: ConnectionTwins,
    private readonly lwa: LwaClient,
    private readonly audit: AuditService,
  ) {}

  async import(
    parsed: ParsedImport,
    run: ImportRun,
  ): Promise<ImportSummaryDto> {
    const failures: ImportLineFailureDto[] = [...parsed.failures];
    const skippedLines: ImportSummaryDto['skippedLines'] = [];
    let imported = 0;
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < parsed.entries.length) {
        const entry = parsed.entries[next];
        next += 1;
        const outcome = await this.importLine(entry, run).catch(
          (error: unknown): LineOutcome => {
            // The line's transaction rolled back: report it and go on with the others.
            this.logger.error(
              {
                correlationId: run.correlationId,
                line: entry.line,
                error: (error as Error)?.name,
              },
              'Saving an imported connection failed',
            );
            return {
              kind: 'failed',
              reason:
                'Saving failed (a database error): nothing of this line was saved; run the import again.',
            };
          },
        );
        if (outcome.kind === 'imported') imported += 1;
        else if (outcome.kind === 'skipped')
          skippedLines.push({
            line: entry.line,
            connectionId: outcome.connectionId,
          });
        else failures.push({ line: entry.line, reason: outcome.reason });
        done += 1;
        run.onLineDone?.(done, parsed.entries.length);
      }
    };
    await Promise.all(
      Array.from(
        {
          length: Math.min(IMPORT_LIMITS.concurrency, parsed.entries.length),
        },
        worker,
      ),
    );
    failures.sort((a, b) => a.line - b.line);
    skippedLines.sort((a, b) => a.line - b.line);
    return {
      lines: parsed.lines,
      imported,
      skipped: skippedLines.length,
      failed: failures.length,
      failures,
      skippedLines,
    };
  }

  private async importLine(
    entry: ImportEntry,
    run: ImportRun,
  ): Promise<LineOutcome> {
    let tokens: LwaTokenSet;
    try {
      // Behind jobs and admins at the token-request cap, as the sweep is: an import of
      // thousands of lines must not delay a job's refresh.
      tokens = await this.lwa.refresh(entry.region, entry.refreshToken, {
        maxRetries: PROOF_MAX_RETRIES,
        priority: 'background',
      });
    } catch (caught) {
      if (!(caught instanceof LwaError)) throw caught;
      this.logger.warn(
        {
          correlationId: run.correlationId,
          line: entry.line,
          region: entry.region,
          kind: caught.kind,
        },
        'An imported refresh token was refused',
      );
      return { kind: 'failed', reason: refusalReason(caught) };
    }
    const refreshToken = tokens.refreshToken ?? entry.refreshToken;

    let profiles: AdsProfileDto[] = [];
    let profilesStale = false;
    try {
      profiles = await this.lwa.listProfiles(entry.region, tokens.accessToken, {
        maxRetries: PROOF_MAX_RETRIES,
      });
    } catch (caught) {
      if (!(caught instanceof LwaError)) throw caught;
      // Without the profiles the account is unknown, so a rerun could not tell this token is
      // already here: the line fails, unless Amazon just rotated the token (then it must be kept).
      if (tokens.refreshToken === undefined)
        return {
          kind: 'failed',
          reason: `The token works, but its Ads profiles could not be read (${caught.kind}), so its Amazon account is unknown: nothing saved; run the import again later.`,
        };
      profilesStale = true;
    }

    const now = new Date();
    const accountIds = accountIdsOf(profiles);
    const fields: Partial<ConnectionEntity> = {
      region: entry.region,
      status: 'active',
      accessToken: tokens.accessToken,
      refreshToken,
      accessTokenExpiresAt: new Date(
        now.getTime() + tokens.expiresInSeconds * 1000,
      ),
      lastRefreshedAt: now,
      nextAttemptAt: null,
      failureCount: 0,
      lastError: null,
      disconnectedAt: null,
      leaseOwner: null,
      leaseExpiresAt: null,
      amazonAccountIds: accountIds,
      profiles,
      profilesStale,
      ...(profilesStale ? {} : { profilesReadAt: now }),
    };
    return this.connections.transaction(async (manager) => {
      await this.twins.lockAccounts(entry.region, accountIds, manager);
      const existing = await this.connections.findSameAccount(
        entry.region,
        accountIds,
        manager,
      );
      if (existing && isLive(existing.status)) {
        if (tokens.refreshToken !== undefined) {
          await this.connections.saveConsent(
            tokenFields(fields),
            existing,
            existing.label,
            manager,
          );
          await this.audit.record(
            {
              type: 'imported',
              actor: run.actor,
              connectionId: existing.id,
              correlationId: run.correlationId,
              details: {
                line: entry.line,
                region: entry.region,
                tokensUpdated: true,
              },
            },
            manager,
          );
        }
        return { kind: 'skipped', connectionId: existing.id };
      }
      const saved = await this.connections.saveConsent(
        entry.label ? { ...fields, label: entry.label } : fields,
        existing,
        entry.label ?? defaultConnectionLabel(entry.region, profiles),
        manager,
      );
      await this.audit.record(
        {
          type: 'imported',
          actor: run.actor,
          connectionId: saved.id,
          correlationId: run.correlationId,
          details: {
            line: entry.line,
            region: entry.region,
            profiles: profiles.length,
            profilesStale,
            reconnected: existing !== null,
          },
        },
        manager,
      );
      if (existing)
        await this.twins.merge(
          {
            connectionId: saved.id,
            region: entry.region,
            accountIds,
            actor: run.actor,
            correlationId: run.correlationId,
          },
          manager,
        );
      return { kind: 'imported', connectionId: saved.id };
    });
  }
}

/** What a skipped connection takes when the proof rotated its token: the tokens, nothing else. */
function tokenFields(
  fields: Partial<ConnectionEntity>,
): Partial<ConnectionEntity> {
  return {
    accessToken: fields.accessToken,
    refreshToken: fields.refreshToken,
    accessTokenExpiresAt: fields.accessTokenExpiresAt,
    lastRefreshedAt: fields.lastRefreshedAt,
    leaseOwner: null,
    leaseExpiresAt: null,
  };
}

/** Why a proof failed, in plain words: never Amazon's body, never a token. */
export function refusalReason(error: LwaError): string {
  switch (error.kind) {
    case 'invalid_grant':
      return 'Amazon refused the refresh token (invalid_grant): it was revoked, expired or issued to another client; this account needs a new consent.';
    case 'invalid_client':
    case 'unauthorized':
    case 'forbidden':
      return `Amazon refused this client (${error.kind}): check AMAZON_CLIENT_ID and AMAZON_CLIENT_SECRET; nothing saved.`;
    default:
      return `Amazon did not answer the refresh (${error.kind}): nothing saved; run the import again later (lines already imported are skipped).`;
  }
}
