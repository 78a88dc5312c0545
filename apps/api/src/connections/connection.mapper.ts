import type { ConnectionDto } from '@keeper/contracts';
import type { FindOptionsSelect } from 'typeorm';
import type { ConnectionEntity } from './connection.entity';
import { nextRefreshAtMs } from './connection-rules';

/**
 * Every column but the secrets, and all that {@link toConnectionDto} reads: reading connections
 * for the admin or for a live event never decrypts a token, so it stays cheap and works even
 * for a row under a key that FERNET_KEYS no longer holds.
 */
export const CONNECTION_PUBLIC_COLUMNS: FindOptionsSelect<ConnectionEntity> = {
  id: true,
  label: true,
  region: true,
  status: true,
  accessTokenExpiresAt: true,
  lastRefreshedAt: true,
  nextAttemptAt: true,
  failureCount: true,
  lastError: true,
  profiles: true,
  dspAdvertisers: true,
  profilesReadAt: true,
  createdAt: true,
  updatedAt: true,
};

/**
 * What the API tells about a connection: never a token. `nextRefreshAt` is when the sweep
 * will next try (connection-rules.ts: `nextRefreshAtMs`).
 */
export function toConnectionDto(
  connection: ConnectionEntity,
  refreshWindowSeconds: number,
): ConnectionDto {
  const nextRefresh = nextRefreshAtMs(
    {
      id: connection.id,
      status: connection.status,
      expiresAt: connection.accessTokenExpiresAt,
      lastRefreshedAt: connection.lastRefreshedAt,
      nextAttemptAt: connection.nextAttemptAt,
    },
    refreshWindowSeconds,
  );
  return {
    id: connection.id,
    label: connection.label,
    region: connection.region,
    status: connection.status,
    accessTokenExpiresAt:
      connection.accessTokenExpiresAt?.toISOString() ?? null,
    lastRefreshedAt: connection.lastRefreshedAt?.toISOString() ?? null,
    nextRefreshAt:
      nextRefresh === undefined ? null : new Date(nextRefresh).toISOString(),
    failureCount: connection.failureCount,
    lastError: connection.lastError,
    profiles: connection.profiles,
    dspAdvertisers: connection.dspAdvertisers,
    profilesReadAt: connection.profilesReadAt?.toISOString() ?? null,
    createdAt: connection.createdAt.toISOString(),
    updatedAt: connection.updatedAt.toISOString(),
  };
}
