import type { Database } from '../database/database';
import {
  OAuthStateCleanup,
  STATE_CLEANUP_INTERVAL_MS,
} from './oauth-state-cleanup';

describe('deleting expired consent states', () => {
  let execute: jest.Mock;
  let sut: OAuthStateCleanup;

  beforeEach(() => {
    jest.useFakeTimers({
      doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'],
    });
    execute = jest.fn().mockResolvedValue({ affected: 0 });
    const builder = {
      delete: () => builder,
      where: () => builder,
      execute,
    };
    const database = {
      repository: () => ({ createQueryBuilder: () => builder }),
    } as unknown as Database;
    sut = new OAuthStateCleanup(database);
  });

  afterEach(() => {
    sut.onApplicationShutdown();
    jest.useRealTimers();
  });

  it('runs at start, then every 10 minutes, whatever REFRESH_CRON is', async () => {
    expect(STATE_CLEANUP_INTERVAL_MS).toBe(10 * 60_000);
    sut.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    expect(execute).toHaveBeenCalledTimes(1);

    await jest.advanceTimersByTimeAsync(STATE_CLEANUP_INTERVAL_MS - 1);
    expect(execute).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(execute).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(STATE_CLEANUP_INTERVAL_MS);
    expect(execute).toHaveBeenCalledTimes(3);
  });

  it('survives a failure (the database away) and tries again at the next run', async () => {
    execute.mockRejectedValueOnce(new Error('connection refused'));
    sut.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    await jest.advanceTimersByTimeAsync(STATE_CLEANUP_INTERVAL_MS);
    expect(execute).toHaveBeenCalledTimes(2);
  });

  it('stops at shutdown', async () => {
    sut.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    sut.onApplicationShutdown();
    await jest.advanceTimersByTimeAsync(3 * STATE_CLEANUP_INTERVAL_MS);
    expect(execute).toHaveBeenCalledTimes(1);
  });
});
