export { freePort } from './lib/free-port';
export {
  API_VARIABLES,
  builtApiEnvironment,
} from './lib/built-api-environment';
export * from './lib/http-fuzz';
