import type {
  AuditEventType,
  ConnectionCountsDto,
  ServerEventDto,
} from '@keeper/contracts';
import type { Notification } from 'pg';
import type { Subscription } from 'rxjs';
import type { SessionService } from '../auth/session.service';
import type { AppConfig } from '../config/app-config';
import type { ConnectionsRepository } from '../connections/connections.repository';
import type { Database } from '../database/database';
import { COUNTS_INTERVAL_MS, EventsService } from './events.service';

const CONNECTION_ID = '6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12';

function counts(active: number): ConnectionCountsDto {
  return {
    active,
    degraded: 0,
    needs_reauth: 1,
    disconnected: 2,
    total: active + 3,
  };
}

/** The service with its database faked: each audit event read is of `type.current`. */
function setUp() {
  const type = { current: 'disconnected' as AuditEventType };
  let active = 10;
  const repository = {
    counts: jest.fn(async () => counts(active)),
    findPublic: jest.fn(async () => null),
  };
  const database = {
    dataSource: {
      getRepository: () => ({
        findOneBy: async ({ id }: { id: string }) => ({
          id,
          connectionId: CONNECTION_ID,
          type: type.current,
          actor: 'admin',
          correlationId: null,
          details: {},
          createdAt: new Date(),
        }),
      }),
    },
  };
  const service = new EventsService(
    database as unknown as Database,
    repository as unknown as ConnectionsRepository,
    { url: 'postgres://unused' },
    { refresh: { windowSeconds: 300 } } as AppConfig,
    {} as SessionService,
  );
  let auditEventId = 0;
  /** What the audit NOTIFY of one event would make the service do. */
  const notify = async () => {
    auditEventId += 1;
    await (
      service as unknown as { forward(message: Notification): Promise<void> }
    ).forward({
      processId: 1,
      channel: 'audit',
      payload: JSON.stringify({
        auditEventId: String(auditEventId),
        connectionId: CONNECTION_ID,
      }),
    });
  };
  const received: ServerEventDto[] = [];
  const subscriptions: Subscription[] = [];
  const listen = () =>
    subscriptions.push(
      service.stream('session').subscribe((event) => received.push(event)),
    );
  const counted = () =>
    received.filter((event) => event.type === 'connections.counted');
  return {
    service,
    repository,
    type,
    notify,
    listen,
    counted,
    setActive: (value: number) => (active = value),
    stop: () =>
      subscriptions.forEach((subscription) => subscription.unsubscribe()),
  };
}

/** Lets the timers due within `ms` fire and their reads settle. */
async function advance(ms: number): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
}

describe('connections.counted', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('is sent after a status change, then at most once a second however many follow', async () => {
    const sut = setUp();
    sut.listen();

    await sut.notify();
    await advance(0);
    expect(sut.counted()).toEqual([
      { type: 'connections.counted', counts: counts(10) },
    ]);

    for (let change = 1; change <= 20; change += 1) {
      sut.setActive(10 - change);
      await sut.notify();
      await advance(40);
    }
    // 20 changes in 800 ms: one more read, a second after the first.
    expect(sut.counted()).toHaveLength(1);
    await advance(COUNTS_INTERVAL_MS);
    expect(sut.counted()).toHaveLength(2);
    expect(sut.counted()[1]).toEqual({
      type: 'connections.counted',
      counts: counts(-10),
    });
    expect(sut.repository.counts).toHaveBeenCalledTimes(2);
    sut.stop();
  });

  it('is not sent when the counts did not change', async () => {
    const sut = setUp();
    sut.listen();
    await sut.notify();
    await advance(COUNTS_INTERVAL_MS);
    await sut.notify();
    await advance(COUNTS_INTERVAL_MS);
    expect(sut.repository.counts).toHaveBeenCalledTimes(2);
    expect(sut.counted()).toHaveLength(1);
    sut.stop();
  });

  it('is not read for an event that changes no status (a rename, a profile read)', async () => {
    const sut = setUp();
    sut.listen();
    for (const type of ['renamed', 'profiles_read'] as const) {
      sut.type.current = type;
      await sut.notify();
      await advance(COUNTS_INTERVAL_MS);
    }
    expect(sut.repository.counts).not.toHaveBeenCalled();
    expect(sut.counted()).toEqual([]);
    sut.stop();
  });

  it('costs nothing while nobody listens', async () => {
    const sut = setUp();
    await sut.notify();
    await advance(COUNTS_INTERVAL_MS * 3);
    expect(sut.repository.counts).not.toHaveBeenCalled();

    // Someone listens, then leaves before the read is due: no read either.
    sut.listen();
    await sut.notify();
    sut.stop();
    await advance(COUNTS_INTERVAL_MS * 3);
    expect(sut.repository.counts).not.toHaveBeenCalled();
  });

  it('stops with the app', async () => {
    const sut = setUp();
    sut.listen();
    await sut.notify();
    await advance(0);
    await sut.notify();
    sut.service.beforeApplicationShutdown();
    await advance(COUNTS_INTERVAL_MS * 3);
    expect(sut.repository.counts).toHaveBeenCalledTimes(1);
    expect(jest.getTimerCount()).toBe(0);
  });
});
