import { DEFAULT_ACCOUNT, resolveAccount, SAMPLE_ACCOUNTS } from './accounts';
import {
  FAULT_ENDPOINTS,
  FaultEndpoint,
  FaultQueue,
  parseFaultSpec,
} from './fault-queue';
import type { ReportStore } from './report-store';
import { RequestLog } from './request-log';
import { SandboxAuthority } from './sandbox-authority';
import { SandboxInputError } from './sandbox-input.error';
import type { IssuedTokens, SandboxControl } from './sandbox-options';
import { parseSettingsPatch, SandboxSettings } from './sandbox-settings';

const MAX_ADVANCE_SECONDS = 10 * 366 * 24 * 3600;

/** The control operations over the sandbox's state; the HTTP control API calls these too. */
export function createSandboxControl(deps: {
  authority: SandboxAuthority;
  faults: FaultQueue;
  log: RequestLog;
  reports: ReportStore;
  clientId: string;
  initialSettings: SandboxSettings;
}): SandboxControl {
  const { authority, faults, log, reports, clientId, initialSettings } = deps;
  return {
    settings: () => ({ ...authority.settings }),
    updateSettings(patch) {
      authority.settings = {
        ...authority.settings,
        ...parseSettingsPatch(patch),
      };
      return { ...authority.settings };
    },
    queueFault: (fault) => faults.add(parseFaultSpec(fault)),
    faults: () => faults.list(),
    clearFaults(endpoint?: FaultEndpoint) {
      if (endpoint !== undefined && !FAULT_ENDPOINTS.includes(endpoint)) {
        throw new SandboxInputError(
          `endpoint must be one of ${FAULT_ENDPOINTS.join(', ')}`,
        );
      }
      return faults.clear(endpoint);
    },
    revokeRefreshToken: (refreshToken) =>
      authority.revokeRefreshToken(refreshToken),
    revokeAccessToken: (accessToken) =>
      authority.revokeAccessToken(accessToken),
    issueTokens(accountName?: string): IssuedTokens {
      const account =
        accountName === undefined
          ? DEFAULT_ACCOUNT
          : resolveAccount(accountName);
      if (!account)
        throw new SandboxInputError(
          'account must be a printable name or id of up to 100 characters',
        );
      const tokens = authority.issueTokens(clientId, account);
      return {
        ...tokens,
        refresh_token: tokens.refresh_token ?? '',
        accountId: account.id,
      };
    },
    accounts: () => SAMPLE_ACCOUNTS,
    requests: (filter) => log.list(filter),
    clearRequests: () => log.clear(),
    advanceTime(seconds) {
      if (
        typeof seconds !== 'number' ||
        !Number.isFinite(seconds) ||
        seconds < 0 ||
        seconds > MAX_ADVANCE_SECONDS
      ) {
        throw new SandboxInputError(
          `advanceSeconds must be a number from 0 to ${MAX_ADVANCE_SECONDS}`,
        );
      }
      authority.advanceTime(seconds * 1000);
    },
    now: () => new Date(authority.now()),
    counts: () => ({
      ...authority.counts(),
      queuedFaults: faults
        .list()
        .reduce((sum, fault) => sum + fault.remaining, 0),
      reports: reports.count(),
      tokenRequestsInFlight: log.tokenRequestsInFlight().now,
      peakTokenRequestsInFlight: log.tokenRequestsInFlight().peak,
    }),
    reset() {
      authority.reset({ ...initialSettings });
      faults.clear();
      log.clear();
      reports.clear();
    },
  };
}
