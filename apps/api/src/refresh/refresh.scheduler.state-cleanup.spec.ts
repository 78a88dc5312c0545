import type { SchedulerRegistry } from '@nestjs/schedule';
import type { AmazonConnectService } from '../auth/amazon-connect.service';
import { loadAppConfig } from '../config/app-config';
import type { RefreshMetrics } from '../metrics/refresh.metrics';
import type { RefreshPause } from './refresh-pause';
import {
  RefreshScheduler,
  STATE_CLEANUP_INTERVAL_MS,
} from './refresh.scheduler';
import type { RefreshService } from './refresh.service';

describe('the refresh sweep deleting expired consent states', () => {
  const minute = 60_000;
  let deleteExpiredStates: jest.Mock;
  let sut: RefreshScheduler;

  beforeEach(() => {
    jest.useFakeTimers({
      now: Date.now(),
      doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'],
    });
    deleteExpiredStates = jest.fn().mockResolvedValue(undefined);
    const refresh = {
      releaseLeftLeases: jest.fn().mockResolvedValue(undefined),
      claimDue: jest.fn().mockResolvedValue([]),
      refetchStaleProfiles: jest.fn().mockResolvedValue(undefined),
      amazonSeemsDown: false,
    } as unknown as RefreshService;
    const pause = {
      isHolding: false,
      reason: undefined,
    } as unknown as RefreshPause;
    const metrics = {
      recordSchedulerTick: jest.fn(),
    } as unknown as RefreshMetrics;
    sut = new RefreshScheduler(
      refresh,
      pause,
      { deleteExpiredStates } as unknown as AmazonConnectService,
      {} as SchedulerRegistry,
      metrics,
      // Every 5 seconds: the old rule (every 60th sweep) then meant every 5 minutes, and once an
      // hour at a cron of once a minute; by the clock it is the same whatever the cron.
      loadAppConfig({ REFRESH_CRON: '*/5 * * * * *' }),
    );
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('deletes on the first sweep, then at most every 10 minutes by the wall clock', async () => {
    expect(STATE_CLEANUP_INTERVAL_MS).toBe(10 * minute);

    await sut.sweep();
    expect(deleteExpiredStates).toHaveBeenCalledTimes(1);

    for (let sweep = 0; sweep < 5; sweep += 1) {
      jest.setSystemTime(Date.now() + minute);
      await sut.sweep();
    }
    expect(deleteExpiredStates).toHaveBeenCalledTimes(1);

    jest.setSystemTime(Date.now() + 5 * minute);
    await sut.sweep();
    expect(deleteExpiredStates).toHaveBeenCalledTimes(2);
  });

  it('does not wait for a number of sweeps when sweeps are rare (a cron of once an hour)', async () => {
    await sut.sweep();
    jest.setSystemTime(Date.now() + 60 * minute);
    await sut.sweep();

    expect(deleteExpiredStates).toHaveBeenCalledTimes(2);
  });
});
