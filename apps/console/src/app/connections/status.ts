import type { ConnectionStatus } from '@keeper/contracts';

/** How a status looks: always words and an icon, the colour only adds to them. */
export interface StatusPresentation {
  label: string;
  /** A Material Symbols name. */
  icon: string;
  /** What the status means for the admin, in a sentence. */
  meaning: string;
  /** The `--mat-sys-*` colour pair the chip is drawn in. */
  colors: { container: string; content: string };
}

export const STATUS_PRESENTATION: Readonly<
  Record<ConnectionStatus, StatusPresentation>
> = {
  active: {
    label: 'Active',
    icon: 'check_circle',
    meaning: 'The access token is valid and refreshes succeed.',
    colors: {
      container: '--mat-sys-primary-container',
      content: '--mat-sys-on-primary-container',
    },
  },
  degraded: {
    label: 'Degraded',
    icon: 'warning',
    meaning:
      'Recent refreshes failed for a passing reason; the service keeps retrying.',
    colors: {
      container: '--mat-sys-tertiary-container',
      content: '--mat-sys-on-tertiary-container',
    },
  },
  needs_reauth: {
    label: 'Needs re-auth',
    icon: 'error',
    meaning:
      'Amazon no longer accepts the refresh token; only reconnecting helps.',
    colors: {
      container: '--mat-sys-error-container',
      content: '--mat-sys-on-error-container',
    },
  },
  disconnected: {
    label: 'Disconnected',
    icon: 'link_off',
    meaning: 'Disconnected by an admin; its tokens are erased.',
    colors: {
      container: '--mat-sys-surface-container-highest',
      content: '--mat-sys-on-surface-variant',
    },
  },
};

const UNKNOWN_STATUS: StatusPresentation = {
  label: 'Unknown',
  icon: 'help',
  meaning: 'The API reported a status this console does not know.',
  colors: {
    container: '--mat-sys-surface-container-highest',
    content: '--mat-sys-on-surface',
  },
};

/** The presentation of a status; a status from a newer API still gets words. */
export function presentStatus(status: ConnectionStatus): StatusPresentation {
  return (
    STATUS_PRESENTATION[status] ?? { ...UNKNOWN_STATUS, label: String(status) }
  );
}
