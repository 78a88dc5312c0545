import type { Region } from './connection';

/** What a link is now: `open` until it is used, revoked or past its expiry. */
export type ConnectLinkState = 'open' | 'used' | 'expired' | 'revoked';

/** A link for an account owner, as the admin sees it: never its secret. */
export interface ConnectLinkDto {
  id: string;
  region: Region;
  label: string | null;
  /** A reconnect link's connection; `null` for a link that adds a new account. */
  connectionId: string | null;
  state: ConnectLinkState;
  /** Who made it (`admin`). */
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
  revokedAt: string | null;
  /** The connection the owner's consent made or renewed. */
  resultConnectionId: string | null;
}

/** The answer to creating a link: the only time its URL (and secret) is shown. */
export type CreatedConnectLinkDto = ConnectLinkDto & { url: string };

export interface CreateConnectLinkRequest {
  region: Region;
  label?: string | null;
  /** 1 to 168; 72 when left out. */
  expiresInHours?: number;
  /** A reconnect link: the connection whose tokens the owner's consent replaces. */
  connectionId?: string | null;
}

export const CONNECT_LINK_LABEL_MAX = 100;
export const CONNECT_LINK_MAX_HOURS = 168;
export const CONNECT_LINK_DEFAULT_HOURS = 72;
