import type { AppConfig } from '../config/app-config';
import { generatedSecret } from './development-secrets';

/** The console's password, and where it came from (printed by `main.ts` when generated). */
export interface AdminPassword {
  value: string;
  /** Set when development generated it: the file that keeps it across restarts. */
  generatedFile: string | undefined;
}

/** Injection token of {@link AdminPassword}. */
export const ADMIN_PASSWORD = Symbol('ADMIN_PASSWORD');

/**
 * `ADMIN_PASSWORD` when set (required in production, see app-config). In development without
 * it, one is generated once into the data folder, so restarts keep the same password.
 */
export async function resolveAdminPassword(
  config: Pick<AppConfig, 'adminPassword' | 'dataDir'>,
): Promise<AdminPassword> {
  if (config.adminPassword)
    return { value: config.adminPassword, generatedFile: undefined };
  const generated = await generatedSecret(config.dataDir, 'admin-password', 12);
  return { value: generated.value, generatedFile: generated.file };
}
