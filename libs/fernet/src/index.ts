export { Fernet, keyIdOf } from './lib/fernet';
export { type FernetDecryption, FernetKeyring } from './lib/fernet-keyring';
export type {
  FernetDecryptOptions,
  FernetEncryptOptions,
} from './lib/fernet-options';
export { InvalidFernetToken } from './lib/invalid-fernet-token.error';
