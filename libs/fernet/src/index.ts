export * from './lib/fernet';
