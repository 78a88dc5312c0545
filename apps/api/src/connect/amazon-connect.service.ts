import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AdsProfileDto, ConnectOutcome, Region } from '@keeper/contracts';
import { createHash } from 'node:crypto';
import { LwaClient } from '../amazon/lwa.client';
import { LwaError } from '../amazon/lwa.errors';
import { AuditService } from '../audit/audit.service';
import { randomToken } from '../common/random-token';
import { ADMIN_PASSWORD, AdminPassword } from '../auth/admin-password';
import { SecretDigest } from '../auth/secret-digest';
import { accountIdsOf } from '../connections/connection-rules';
import { defaultConnectionLabel } from '../connections/connection-label';
import { ConnectionEntity } from '../connections/connection.entity';
import { ConnectionTwins } from '../connections/connection-twins';
import { ConnectionsRepository } from '../connections/connections.repository';
import { KeyRing } from '../crypto/key-ring';
import { BatchedQuery } from '../database/batched-query';
import { Database } from '../database/database';
import { OAuthStateEntity } from './oauth-state.entity';

/** How long the admin has to answer Amazon's consent page. */
export const OAUTH_STATE_LIFETIME_MS = 10 * 60 * 1000;
/** 32 random bytes, base64url: what we send as `state` and what the browser binding holds. */
const RANDOM_TOKEN = /^[A-Za-z0-9_-]{43}$/;
/** The interactive callback waits for Amazon at most this many retries. */
const CALLBACK_MAX_RETRIES = 1;

export interface ConnectStart {
  authorizationUrl: string;
  /**
   * Goes into the `atk_oauth` cookie; the callback must bring it back. The same value for every
   * consent started in one admin session, so consents in several tabs each complete.
   */
  browserBinding: string;
}

export interface CallbackQuery {
  code?: unknown;
  state?: unknown;
  error?: unknown;
}

export interface ConnectResult {
  outcome: ConnectOutcome;
  connectionId?: string;
  /** Plain English for the console's toast; never a code, token or Amazon's raw body. */
  reason?: string;
}

/** A row of `oauth_states` as `start` writes it. */
interface NewOAuthState {
  stateHash: string;
  codeVerifierCiphertext: string;
  keyId: string;
  region: Region;
  sessionBindingHash: string;
  expiresAt: Date;
}

function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

function singleString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= 2048
    ? value
    : undefined;
}

/**
 * The OAuth 2.0 authorization code flow with PKCE (S256) against Login with Amazon.
 *
 * The callback arrives from Amazon's site, so the SameSite=Strict session cookie is not sent;
 * the flow is tied to the admin's browser by `browserBinding` instead (a SameSite=Lax cookie
 * set by `start`, stored here only as a hash). The binding is an HMAC of the admin session, so
 * every consent started in one browser session carries the same one: a second tab's `start`
 * rewrites the cookie with the value the first tab's state needs, instead of replacing it
 * (the cookie is scoped to the callback's path, so `start` could not read it back). A state is claimed with one conditional UPDATE,
 * so two simultaneous callbacks with the same state make exactly one token request, and every
 * bad state (missing, forged, foreign, expired, replayed) makes none.
 */
@Injectable()
export class AmazonConnectService {
  private readonly logger = new Logger(AmazonConnectService.name);

  /**
   * Plain SQL on this hot path, one INSERT for all the flows started in one turn of the event
   * loop: the repository's insert() spent more CPU building the statement than PostgreSQL
   * spent running it. The verifier is encrypted exactly as its column does it (the key id by hand).
   */
  private readonly stateInsert = new BatchedQuery<NewOAuthState, void>(
    async (states) => {
      await this.database.dataSource.query(
        `INSERT INTO oauth_states (state_hash, code_verifier_ciphertext, key_id, region, session_binding_hash, expires_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])`,
        [
          states.map((row) => row.stateHash),
          states.map((row) => row.codeVerifierCiphertext),
          states.map((row) => row.keyId),
          states.map((row) => row.region),
          states.map((row) => row.sessionBindingHash),
          states.map((row) => row.expiresAt),
        ],
      );
      return states.map(() => undefined);
    },
  );

  /** Derives the browser binding from the admin session (a key of its own, from the password). */
  private readonly bindingKey: SecretDigest;

  constructor(
    private readonly database: Database,
    private readonly connections: ConnectionsRepository,
    private readonly twins: ConnectionTwins,
    private readonly keyRing: KeyRing,
    private readonly lwa: LwaClient,
    private readonly audit: AuditService,
    @Inject(ADMIN_PASSWORD) adminPassword: AdminPassword,
  ) {
    this.bindingKey = new SecretDigest(
      adminPassword.value,
      'oauth-browser-binding',
    );
  }

  /** `sessionIdHash`: the admin session that starts the consent (see `ActiveSession`). */
  async start(region: Region, sessionIdHash: string): Promise<ConnectStart> {
    const state = randomToken();
    const codeVerifier = randomToken();
    // 32 bytes, base64url: shaped like a random token, and the same for the whole session.
    const browserBinding = this.bindingKey
      .digest(sessionIdHash)
      .toString('base64url');
    const codeChallenge = createHash('sha256')
      .update(codeVerifier)
      .digest('base64url');
    await this.stateInsert.run({
      stateHash: sha256Hex(state),
      codeVerifierCiphertext: this.keyRing.encrypt(codeVerifier),
      keyId: this.keyRing.primaryKeyId,
      region,
      sessionBindingHash: sha256Hex(browserBinding),
      expiresAt: new Date(Date.now() + OAUTH_STATE_LIFETIME_MS),
    });
    return {
      authorizationUrl: this.lwa.authorizationUrl(region, {
        state,
        codeChallenge,
      }),
      browserBinding,
    };
  }

  async complete(
    query: CallbackQuery,
    browserBinding: string | undefined,
    correlationId: string,
  ): Promise<ConnectResult> {
    const state = singleString(query.state);
    if (!state || !RANDOM_TOKEN.test(state)) {
      return {
        outcome: 'state_invalid',
        reason:
          'The sign-in came back without a valid state. Start again from the console.',
      };
    }
    const claimed = await this.claimState(state, browserBinding);
    if ('outcome' in claimed) return claimed;

    const error = singleString(query.error);
    if (error) {
      return error === 'access_denied'
        ? {
            outcome: 'access_denied',
            reason: 'Access was denied on the Amazon consent page.',
          }
        : {
            outcome: 'amazon_error',
            reason: `Amazon refused the request (${error.replace(/[^a-z_]/gi, '').slice(0, 40)}).`,
          };
    }
    const code = singleString(query.code);
    // Blank counts as missing: the LWA client refuses to send one (found by the fuzz suite).
    if (!code?.trim())
      return {
        outcome: 'amazon_error',
        reason: 'Amazon sent no authorization code.',
      };

    const region = claimed.region;
    let tokens;
    try {
      tokens = await this.lwa.exchangeCode(
        region,
        { code, codeVerifier: claimed.codeVerifier },
        { maxRetries: CALLBACK_MAX_RETRIES },
      );
    } catch (caught) {
      if (!(caught instanceof LwaError)) throw caught;
      this.logger.warn(
        { correlationId, region, kind: caught.kind },
        'Exchanging the authorization code failed',
      );
      return {
        outcome: 'amazon_error',
        reason: `Amazon did not issue tokens: ${caught.message}`,
      };
    }

    let profiles: AdsProfileDto[] = [];
    let profilesStale = false;
    try {
      profiles = await this.lwa.listProfiles(region, tokens.accessToken, {
        maxRetries: CALLBACK_MAX_RETRIES,
      });
    } catch (caught) {
      if (!(caught instanceof LwaError)) throw caught;
      // The connection is still worth saving; the refresh sweep fetches the profiles later.
      profilesStale = true;
      this.logger.warn(
        { correlationId, region, kind: caught.kind },
        'Reading the Ads profiles failed; saved without them',
      );
    }

    const now = new Date();
    const fields: Partial<ConnectionEntity> = {
      region,
      status: 'active',
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      accessTokenExpiresAt: new Date(
        now.getTime() + tokens.expiresInSeconds * 1000,
      ),
      lastRefreshedAt: now,
      nextAttemptAt: null,
      failureCount: 0,
      lastError: null,
      disconnectedAt: null,
      // A refresh in flight on the old tokens (another replica's lease) must store nothing over
      // these: its write is guarded by the lease, so dropping the lease makes it match no row.
      leaseOwner: null,
      leaseExpiresAt: null,
      amazonAccountIds: accountIdsOf(profiles),
      profiles,
      profilesStale,
      // A reconnect whose profiles could not be read keeps the time of the last read.
      ...(profilesStale ? {} : { profilesReadAt: now }),
    };
    const accountIds = fields.amazonAccountIds ?? [];
    return this.connections.transaction(async (manager) => {
      // Two consents of one account at once: the second waits here, then finds the first's row.
      await this.twins.lockAccounts(region, accountIds, manager);
      const existing = await this.connections.findSameAccount(
        region,
        accountIds,
        manager,
      );
      const saved = await this.connections.saveConsent(
        fields,
        existing,
        defaultConnectionLabel(region, profiles),
        manager,
      );
      const outcome = existing ? 'reconnected' : 'connected';
      await this.audit.record(
        {
          type: outcome,
          actor: 'admin',
          connectionId: saved.id,
          correlationId,
          details: { region, profiles: profiles.length, profilesStale },
        },
        manager,
      );
      // Twins that share these account ids (left by earlier versions) are closed into this one,
      // the oldest live. A new account has none: the lookup above would have found it.
      if (existing)
        await this.twins.merge(
          {
            connectionId: saved.id,
            region,
            accountIds,
            actor: 'admin',
            correlationId,
          },
          manager,
        );
      return { outcome, connectionId: saved.id };
    });
  }

  /**
   * Marks the state used, only if it is unused, unexpired and was started in this browser, and
   * erases its verifier (single-use too) in the same statement, which answers the verifier as
   * it was. Two callbacks racing on one state: the second waits on the row lock, then finds it
   * consumed and claims nothing. When nothing is claimed, one more read says why.
   */
  private async claimState(
    state: string,
    browserBinding: string | undefined,
  ): Promise<{ region: Region; codeVerifier: string } | ConnectResult> {
    const stateHash = sha256Hex(state);
    const bindingHash =
      browserBinding && RANDOM_TOKEN.test(browserBinding)
        ? sha256Hex(browserBinding)
        : '';
    // TypeORM answers an UPDATE's RETURNING rows as [rows, affected count].
    const [[claimed]]: [
      { region: Region; code_verifier_ciphertext: string | null }[],
      number,
    ] = await this.database.dataSource.query(
      `WITH claimable AS (
         SELECT id, region, code_verifier_ciphertext FROM oauth_states
          WHERE state_hash = $1 AND consumed_at IS NULL AND expires_at > now() AND session_binding_hash = $2
          FOR UPDATE
       )
       UPDATE oauth_states AS state
          SET consumed_at = now(), code_verifier_ciphertext = NULL, key_id = NULL
         FROM claimable
        WHERE state.id = claimable.id
       RETURNING claimable.region, claimable.code_verifier_ciphertext`,
      [stateHash, bindingHash],
    );
    if (claimed) {
      if (!claimed.code_verifier_ciphertext)
        return {
          outcome: 'state_invalid',
          reason: 'This sign-in was already used.',
        };
      return {
        region: claimed.region,
        codeVerifier: this.keyRing.decrypt(claimed.code_verifier_ciphertext),
      };
    }
    const repository = this.database.repository(OAuthStateEntity);
    const found = await repository.findOneBy({ stateHash });
    if (!found)
      return {
        outcome: 'state_invalid',
        reason:
          'This sign-in was not started here. Start again from the console.',
      };
    if (found.consumedAt)
      return {
        outcome: 'state_invalid',
        reason: 'This sign-in was already used.',
      };
    if (found.expiresAt.getTime() <= Date.now()) {
      return {
        outcome: 'state_expired',
        reason: 'The sign-in took longer than 10 minutes. Start again.',
      };
    }
    if (!bindingHash) {
      return {
        outcome: 'state_invalid',
        reason:
          'This browser did not bring back the sign-in cookie (cookies blocked, or started in another browser). Start again from the console.',
      };
    }
    return {
      outcome: 'state_invalid',
      reason:
        'This sign-in was started in another browser (or before you logged in again). Start again from the console.',
    };
  }

  /**
   * Whether a consent started with this browser binding is still pending (unused, unexpired):
   * the callback then keeps the cookie, so one tab's answer (or a forged callback) never
   * strands the consent of another.
   */
  async bindingStillNeeded(
    browserBinding: string | undefined,
  ): Promise<boolean> {
    if (!browserBinding || !RANDOM_TOKEN.test(browserBinding)) return false;
    const [row]: { pending: boolean }[] = await this.database.dataSource.query(
      `SELECT EXISTS (
         SELECT 1 FROM oauth_states WHERE session_binding_hash = $1 AND consumed_at IS NULL AND expires_at > now()
       ) AS pending`,
      [sha256Hex(browserBinding)],
    );
    return row.pending;
  }
}
