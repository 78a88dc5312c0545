/** A downstream job's key, as the admin sees it: never the key itself. */
export interface ServiceKeyDto {
  id: string;
  name: string;
  /** The connections the key may read; `null` means every connection. */
  connectionIds: string[] | null;
  createdAt: string;
  /** Written at most once a minute per key and replica, so up to a minute behind. */
  lastUsedAt: string | null;
  /** Set once the key is revoked; the row stays for the audit trail. */
  revokedAt: string | null;
}

/** The answer to creating a key: the only time the key is shown. */
export type CreatedServiceKeyDto = ServiceKeyDto & { key: string };

export interface CreateServiceKeyRequest {
  name: string;
  /** Omitted or `null`: every connection. */
  connectionIds?: string[] | null;
}

/** A key's name: 1 to this many characters. */
export const SERVICE_KEY_NAME_MAX = 100;
/** The most connections one key may be limited to. */
export const SERVICE_KEY_MAX_CONNECTIONS = 1_000;
/** Every key the keeper makes starts with this, so a leaked one is recognisable (secret scanners). */
export const SERVICE_KEY_PREFIX = 'atk_';
