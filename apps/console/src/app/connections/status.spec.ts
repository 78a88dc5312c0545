import { CONNECTION_STATUSES, type ConnectionStatus } from '@keeper/contracts';
import { presentStatus, STATUS_PRESENTATION } from './status';

describe(presentStatus.name, () => {
  it.each([
    ['active', 'Active', 'check_circle', '--mat-sys-primary-container'],
    ['degraded', 'Degraded', 'warning', '--mat-sys-tertiary-container'],
    ['needs_reauth', 'Needs re-auth', 'error', '--mat-sys-error-container'],
    [
      'disconnected',
      'Disconnected',
      'link_off',
      '--mat-sys-surface-container-highest',
    ],
  ] as const)(
    'shows %s as "%s" with the %s icon on %s',
    (status, label, icon, container) => {
      const sut = presentStatus(status);

      expect(sut.label).toBe(label);
      expect(sut.icon).toBe(icon);
      expect(sut.colors.container).toBe(container);
      expect(sut.colors.content).toMatch(/^--mat-sys-on-/);
      expect(sut.meaning.length).toBeGreaterThan(10);
    },
  );

  it('covers every status of the contract, each with its own words and icon', () => {
    expect(Object.keys(STATUS_PRESENTATION).sort()).toEqual(
      [...CONNECTION_STATUSES].sort(),
    );
    const presentations = CONNECTION_STATUSES.map(presentStatus);
    expect(new Set(presentations.map((p) => p.label)).size).toBe(4);
    expect(new Set(presentations.map((p) => p.icon)).size).toBe(4);
  });

  it('still gives words for a status from a newer API', () => {
    const sut = presentStatus('paused' as ConnectionStatus);

    expect(sut.label).toBe('paused');
    expect(sut.icon).toBe('help');
  });
});
