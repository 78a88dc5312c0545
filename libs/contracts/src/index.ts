export * from './lib/audit';
export * from './lib/connection';
export * from './lib/http';
export * from './lib/system';
export * from './lib/service-keys';
export * from './lib/connection-import';
export * from './lib/connect-links';
