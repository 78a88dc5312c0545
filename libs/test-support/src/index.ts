export { freePort } from './lib/free-port.cjs';
export { imageNodeOptions } from './lib/image-command.cjs';
export {
  API_VARIABLES,
  builtApiEnvironment,
  parentEnvironment,
} from './lib/built-api-environment.cjs';
export type { BuiltApiSettings } from './lib/built-api-environment.cjs';
export * from './lib/http-fuzz';
export {
  ManagedChild,
  type ExitStatus,
  type ManagedChildOptions,
} from './lib/managed-child';
