/** What each readiness check of `GET /health/ready` means, for the admin. */
export const CHECK_DESCRIPTIONS: Readonly<
  Record<string, { title: string; meaning: string }>
> = {
  database: {
    title: 'Database',
    meaning:
      'The API reaches its PostgreSQL database, where tokens and the audit trail live.',
  },
  migrations: {
    title: 'Migrations',
    meaning:
      'Every database migration is applied, so the tables are the shape the API expects.',
  },
  keys: {
    title: 'Encryption keys',
    meaning:
      'Every stored secret is encrypted under a key in FERNET_KEYS, so the API can read it.',
  },
  scheduler: {
    title: 'Refresh scheduler',
    meaning:
      'The scheduler has ticked recently, so tokens are refreshed before they expire.',
  },
  amazon: {
    title: 'Amazon',
    meaning:
      'Amazon accepts the client id and secret, and refreshes are not paused.',
  },
};

/** A check's title and meaning; a check added by a newer API still shows its name. */
export function describeCheck(name: string): {
  title: string;
  meaning: string | null;
} {
  return CHECK_DESCRIPTIONS[name] ?? { title: name, meaning: null };
}

/** `300` as "5 min", `90` as "1 min 30 s", `45` as "45 s". */
export function formatDuration(totalSeconds: number): string {
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  if (minutes === 0) return `${seconds} s`;
  return seconds ? `${minutes} min ${seconds} s` : `${minutes} min`;
}
