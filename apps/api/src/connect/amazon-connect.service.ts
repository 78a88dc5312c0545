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

/** How a consent started from a connect link can end besides the admin's outcomes. */
export type LinkRefusal =
  | 'link_used'
  | 'link_expired'
  | 'link_revoked'
  | 'link_unknown'
  | 'account_mismatch'
  | 'connection_gone';

export interface ConnectResult {
  outcome: ConnectOutcome | LinkRefusal;
  /** Set when the consent was started from a connect link: the callback ends on its page. */
  linkId?: string;
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
  linkId: string | null;
}

const CONNECTION_GONE: ConnectResult = {
  outcome: 'connection_gone',
  reason:
    'The connection this link renews was disconnected. Nothing was changed; ask for a new link.',
};

/** The link a consent was started from, as the callback reads it. */
interface LinkRow {
  id: string;
  connection_id: string | null;
  used_at: Date | null;
  revoked_at: Date | null;
  expires_at: Date;
}

/** Why a link cannot be used now; undefined while it is open. */
export function linkRefusal(
  link: Pick<LinkRow, 'used_at' | 'revoked_at' | 'expires_at'> | undefined,
): ConnectResult | undefined {
  if (!link)
    return {
      outcome: 'link_unknown',
      reason: 'This link is not known here. Ask for a new one.',
    };
  if (link.revoked_at)
    return {
      outcome: 'link_revoked',
      reason:
        'This link was withdrawn by the administrator. Ask for a new one.',
    };
  if (link.used_at)
    return {
      outcome: 'link_used',
      reason: 'This link was already used. Ask for a new one.',
    };
  if (link.expires_at.getTime() <= Date.now())
    return {
      outcome: 'link_expired',
      reason: 'This link has expired. Ask for a new one.',
    };
  return undefined;
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
        `INSERT INTO oauth_states (state_hash, code_verifier_ciphertext, key_id, region, session_binding_hash, expires_at, link_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::uuid[])`,
        [
          states.map((row) => row.stateHash),
          states.map((row) => row.codeVerifierCiphertext),
          states.map((row) => row.keyId),
          states.map((row) => row.region),
          states.map((row) => row.sessionBindingHash),
          states.map((row) => row.expiresAt),
          states.map((row) => row.linkId),
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
    // 32 bytes, base64url: shaped like a random token, and the same for the whole session.
    const browserBinding = this.bindingKey
      .digest(sessionIdHash)
      .toString('base64url');
    return this.begin(region, browserBinding, null);
  }

  /**
   * An account owner's "Continue to Amazon" on a connect link (no keeper session): the browser
   * binding is the one this browser already carries (another tab's consent), or a new random one.
   */
  startForLink(
    link: { id: string; region: Region },
    currentBinding: string | undefined,
  ): Promise<ConnectStart> {
    const browserBinding =
      currentBinding && RANDOM_TOKEN.test(currentBinding)
        ? currentBinding
        : randomToken();
    return this.begin(link.region, browserBinding, link.id);
  }

  private async begin(
    region: Region,
    browserBinding: string,
    linkId: string | null,
  ): Promise<ConnectStart> {
    const state = randomToken();
    const codeVerifier = randomToken();
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
      linkId,
    });
    return {
      authorizationUrl: this.lwa.authorizationUrl(region, {
        state,
        codeChallenge,
      }),
      browserBinding,
    };
  }

  /**
   * `browserBinding`: the admin's binding cookie, and the account owner's (a connect link's)
   * when the browser carries one too; the state must have been started with one of them.
   */
  async complete(
    query: CallbackQuery,
    browserBinding: string | undefined | (string | undefined)[],
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
    const linkId = claimed.linkId ?? undefined;
    const withLink = (result: ConnectResult): ConnectResult =>
      linkId ? { ...result, linkId } : result;
    let link: LinkRow | undefined;
    if (linkId) {
      // Used, revoked or expired since "Continue": refused before any token request.
      [link] = await this.database.dataSource.query(
        'SELECT id, connection_id, used_at, revoked_at, expires_at FROM connect_links WHERE id = $1',
        [linkId],
      );
      const refused = linkRefusal(link);
      if (refused) return withLink(refused);
      // A reconnect link's connection disconnected since: refused before any token request.
      if (link?.connection_id && !(await this.liveTarget(link.connection_id)))
        return withLink(CONNECTION_GONE);
    }

    return withLink(
      await this.exchangeAndStore(query, claimed, link, correlationId),
    );
  }

  private async exchangeAndStore(
    query: CallbackQuery,
    claimed: { region: Region; codeVerifier: string },
    link: LinkRow | undefined,
    correlationId: string,
  ): Promise<ConnectResult> {
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
    const actor = link ? `link:${link.id}` : 'admin';
    if (link?.connection_id) {
      // A reconnect link renews its connection only with a consent of the same Amazon account.
      const target = await this.connections.find(link.connection_id);
      if (target === null || target.status === 'disconnected')
        return CONNECTION_GONE;
      const matches =
        target.region === region &&
        !profilesStale &&
        accountIds.some((id) => target.amazonAccountIds.includes(id));
      if (!matches)
        return {
          outcome: 'account_mismatch',
          reason:
            'The Amazon account you consented with is not the one this link is for. Nothing was changed; sign in to Amazon with the right account and open the link again.',
        };
    }
    return this.connections.transaction(async (manager) => {
      // Two consents of one account at once: the second waits here, then finds the first's row.
      await this.twins.lockAccounts(region, accountIds, manager);
      if (link) {
        // Single use: two consents of one link racing, the second stores nothing.
        const [[taken]]: [{ id: string }[], number] = await manager.query(
          `UPDATE connect_links SET used_at = now()
            WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
           RETURNING id`,
          [link.id],
        );
        if (!taken)
          return {
            outcome: 'link_used',
            reason: 'This link was already used. Ask for a new one.',
          };
      }
      const existing = link?.connection_id
        ? await this.connections.find(link.connection_id, manager)
        : await this.connections.findSameAccount(region, accountIds, manager);
      const saved = await this.connections.saveConsent(
        fields,
        existing,
        defaultConnectionLabel(region, profiles),
        manager,
      );
      const outcome = existing ? 'reconnected' : 'connected';
      if (link)
        await manager.query(
          'UPDATE connect_links SET result_connection_id = $2 WHERE id = $1',
          [link.id, saved.id],
        );
      await this.audit.record(
        {
          type: outcome,
          actor,
          connectionId: saved.id,
          correlationId,
          details: {
            region,
            profiles: profiles.length,
            profilesStale,
            ...(link ? { linkId: link.id } : {}),
          },
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
            actor,
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
    browserBinding: string | undefined | (string | undefined)[],
  ): Promise<
    | { region: Region; codeVerifier: string; linkId: string | null }
    | ConnectResult
  > {
    const stateHash = sha256Hex(state);
    const bindingHashes = (
      Array.isArray(browserBinding) ? browserBinding : [browserBinding]
    )
      .filter((binding): binding is string =>
        Boolean(binding && RANDOM_TOKEN.test(binding)),
      )
      .map(sha256Hex);
    const bindingHash = bindingHashes[0] ?? '';
    // TypeORM answers an UPDATE's RETURNING rows as [rows, affected count].
    const [[claimed]]: [
      {
        region: Region;
        code_verifier_ciphertext: string | null;
        link_id: string | null;
      }[],
      number,
    ] = await this.database.dataSource.query(
      `WITH claimable AS (
         SELECT id, region, code_verifier_ciphertext, link_id FROM oauth_states
          WHERE state_hash = $1 AND consumed_at IS NULL AND expires_at > now() AND session_binding_hash = ANY($2::text[])
          FOR UPDATE
       )
       UPDATE oauth_states AS state
          SET consumed_at = now(), code_verifier_ciphertext = NULL, key_id = NULL
         FROM claimable
        WHERE state.id = claimable.id
       RETURNING claimable.region, claimable.code_verifier_ciphertext, claimable.link_id`,
      [stateHash, bindingHashes],
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
        linkId: claimed.link_id,
      };
    }
    const repository = this.database.repository(OAuthStateEntity);
    const found = await repository.findOneBy({ stateHash });
    if (found?.linkId) {
      const refused = this.refuseUnclaimed(found, bindingHash);
      return { ...refused, linkId: found.linkId };
    }
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

  private async liveTarget(connectionId: string): Promise<boolean> {
    const target = await this.connections.find(connectionId);
    return target !== null && target.status !== 'disconnected';
  }

  /** Why a link's state (found, not claimed) was refused, in the account owner's words. */
  private refuseUnclaimed(
    found: OAuthStateEntity,
    bindingHash: string,
  ): ConnectResult {
    if (found.consumedAt)
      return {
        outcome: 'state_invalid',
        reason: 'This sign-in was already used. Open the link again.',
      };
    if (found.expiresAt.getTime() <= Date.now())
      return {
        outcome: 'state_expired',
        reason: 'The sign-in took longer than 10 minutes. Open the link again.',
      };
    return {
      outcome: 'state_invalid',
      reason: bindingHash
        ? 'This sign-in was started in another browser. Open the link again in this one.'
        : 'This browser did not bring back the sign-in cookie (cookies blocked, or started in another browser). Open the link again.',
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
