import { SandboxInputError } from './sandbox-input.error';

/** How the consent page behaves when a request carries no `sandbox_auto` parameter. */
export type AutoConsent = 'off' | 'allow' | 'deny';

/** What can change while the sandbox runs (control API `PATCH /__sandbox/settings`). */
export interface SandboxSettings {
  /** `expires_in` of every access token issued from now on. */
  accessTokenLifetimeSeconds: number;
  /** When on, a refresh answers a new refresh token and the presented one stops working. */
  rotateRefreshTokens: boolean;
  /** `allow` or `deny` answer the consent page at once with a redirect, for tests and benchmarks. */
  autoConsent: AutoConsent;
  /** How long an authorization code can be exchanged (Amazon: 5 minutes). */
  authorizationCodeLifetimeSeconds: number;
  /**
   * How long an Ads report stays `PENDING` after `POST /reporting/reports` (sandbox time);
   * 0: `COMPLETED` at the first status read.
   */
  reportDelaySeconds: number;
  /** Size in bytes of each report created from now on (its download body and `fileSize`). */
  reportBytes: number;
  /** Every token request is answered this many milliseconds after it arrived (real time). */
  tokenDelayMs: number;
}

/** The largest report the sandbox serves: 1 GiB, streamed, never held in memory. */
export const MAX_REPORT_BYTES = 1024 * 1024 * 1024;

const MAX_LIFETIME_SECONDS = 366 * 24 * 3600;

function positiveSeconds(name: string, value: unknown): number {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 1 ||
    value > MAX_LIFETIME_SECONDS
  ) {
    throw new SandboxInputError(
      `${name} must be a whole number of seconds from 1 to ${MAX_LIFETIME_SECONDS}`,
    );
  }
  return value;
}

/** Validates a partial settings object from JSON or code; unknown keys are refused. */
export function parseSettingsPatch(input: unknown): Partial<SandboxSettings> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new SandboxInputError('settings must be a JSON object');
  }
  const patch: Partial<SandboxSettings> = {};
  for (const [key, value] of Object.entries(input)) {
    switch (key) {
      case 'accessTokenLifetimeSeconds':
      case 'authorizationCodeLifetimeSeconds':
        patch[key] = positiveSeconds(key, value);
        break;
      case 'reportDelaySeconds':
        if (
          typeof value !== 'number' ||
          !Number.isInteger(value) ||
          value < 0 ||
          value > 86_400
        ) {
          throw new SandboxInputError(
            'reportDelaySeconds must be a whole number of seconds from 0 to 86400',
          );
        }
        patch.reportDelaySeconds = value;
        break;
      case 'tokenDelayMs':
        if (
          typeof value !== 'number' ||
          !Number.isInteger(value) ||
          value < 0 ||
          value > 60_000
        ) {
          throw new SandboxInputError(
            'tokenDelayMs must be a whole number of milliseconds from 0 to 60000',
          );
        }
        patch.tokenDelayMs = value;
        break;
      case 'reportBytes':
        // "[]" is the smallest report body there is.
        if (
          typeof value !== 'number' ||
          !Number.isInteger(value) ||
          value < 2 ||
          value > MAX_REPORT_BYTES
        ) {
          throw new SandboxInputError(
            `reportBytes must be a whole number from 2 to ${MAX_REPORT_BYTES}`,
          );
        }
        patch.reportBytes = value;
        break;
      case 'rotateRefreshTokens':
        if (typeof value !== 'boolean')
          throw new SandboxInputError(
            'rotateRefreshTokens must be true or false',
          );
        patch.rotateRefreshTokens = value;
        break;
      case 'autoConsent':
        if (value !== 'off' && value !== 'allow' && value !== 'deny') {
          throw new SandboxInputError(
            'autoConsent must be "off", "allow" or "deny"',
          );
        }
        patch.autoConsent = value;
        break;
      default:
        throw new SandboxInputError(`unknown setting "${key}"`);
    }
  }
  return patch;
}
