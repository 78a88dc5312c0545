export {
  startLwaSandbox,
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
} from './lib/lwa-sandbox';
export type {
  LwaSandboxOptions,
  RunningSandbox,
  SandboxControl,
  SandboxLogger,
  IssuedTokens,
  SandboxCounts,
} from './lib/sandbox-options';
export type { SandboxSettings, AutoConsent } from './lib/sandbox-settings';
export type {
  FaultSpec,
  FaultKind,
  FaultEndpoint,
  QueuedFault,
} from './lib/fault-queue';
export type {
  RequestLogEntry,
  RequestLogFilter,
  SandboxEndpoint,
} from './lib/request-log';
export type { ReportStatusBody } from './lib/report-store';
export { DOWNLOAD_PREFIX } from './lib/report-store';
export type { TokenResponse } from './lib/sandbox-authority';
export { ADS_SCOPE } from './lib/sandbox-authority';
export type {
  SandboxAccount,
  AdsProfile,
  DspAdvertiser,
  AccountType,
  CountryCode,
} from './lib/accounts';
export {
  SAMPLE_ACCOUNTS,
  DEFAULT_ACCOUNT,
  profilesFor,
  dspAdvertisersFor,
  resolveAccount,
} from './lib/accounts';
export { ManualClock, systemClock } from './lib/sandbox-clock';
export type { SandboxClock } from './lib/sandbox-clock';
export { SandboxInputError } from './lib/sandbox-input.error';
export {
  createPkcePair,
  fingerprint,
  s256CodeChallenge,
  ACCESS_TOKEN_PREFIX,
  REFRESH_TOKEN_PREFIX,
} from './lib/credentials';
