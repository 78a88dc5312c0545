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
}

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
