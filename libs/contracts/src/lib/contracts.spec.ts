import {
  AUDIT_EVENT_TYPES,
  CONNECTION_STATUSES,
  REGION_NAMES,
  REGIONS,
} from '../index';

describe('contracts', () => {
  it('names every region', () => {
    expect(REGIONS.map((region) => REGION_NAMES[region])).toEqual([
      'North America',
      'Europe',
      'Far East',
    ]);
  });

  it('has the statuses and audit types the external contract promises', () => {
    expect(CONNECTION_STATUSES).toEqual([
      'active',
      'degraded',
      'needs_reauth',
      'disconnected',
    ]);
    for (const type of [
      'connected',
      'reconnected',
      'refreshed',
      'refresh_failed',
      'needs_reauth',
      'manual_refresh',
      'disconnected',
      'key_rotated',
      'login_failed',
    ]) {
      expect(AUDIT_EVENT_TYPES).toContain(type);
    }
  });
});
