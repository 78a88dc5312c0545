import { TestBed } from '@angular/core/testing';
import type { ConnectionDto, ServerEventDto } from '@keeper/contracts';
import { FakeEventSources } from '../../testing/fake-event-source';
import {
  EVENT_SOURCE_FACTORY,
  EventsService,
  LIVE_EVENTS_TIMING,
} from './events.service';

describe(EventsService.name, () => {
  let sources: FakeEventSources;
  let sut: EventsService;
  let received: ServerEventDto[];
  let resyncs: number;

  const connection = { id: 'c1', label: 'Acme' } as ConnectionDto;

  beforeEach(() => {
    jest.useFakeTimers();
    sources = new FakeEventSources();
    TestBed.configureTestingModule({
      providers: [
        { provide: EVENT_SOURCE_FACTORY, useValue: sources.factory },
        {
          provide: LIVE_EVENTS_TIMING,
          useValue: {
            reconnectDelaysMs: [1000, 2000, 4000],
            pollIntervalMs: 15_000,
          },
        },
      ],
    });
    sut = TestBed.inject(EventsService);
    received = [];
    resyncs = 0;
    sut.events.subscribe((event) => received.push(event));
    sut.resync.subscribe(() => (resyncs += 1));
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('opens the events stream of the API once, however often it is started', () => {
    sut.start();
    sut.start();

    expect(sources.opened.map((source) => source.url)).toEqual([
      '/api/v1/events',
    ]);
    expect(sut.state()).toBe('connecting');

    sources.latest.open();

    expect(sut.state()).toBe('live');
    expect(resyncs).toBe(0);
  });

  it('passes on each event the server sends, parsed', () => {
    sut.start();
    sources.latest.open();

    sources.latest.send({ type: 'connection.changed', connection });
    sources.latest.send({ type: 'connection.removed', connectionId: 'c2' });

    expect(received).toEqual([
      { type: 'connection.changed', connection },
      { type: 'connection.removed', connectionId: 'c2' },
    ]);
  });

  it('skips data that is not an event instead of breaking the stream', () => {
    sut.start();
    sources.latest.open();

    sources.latest.send('not json');
    sources.latest.send('{"no":"type"}');
    sources.latest.send({ type: 'connection.removed', connectionId: 'c2' });

    expect(received).toEqual([
      { type: 'connection.removed', connectionId: 'c2' },
    ]);
  });

  it('reconnects after a drop with a growing delay, and starts over once it is back', () => {
    sut.start();
    sources.latest.open();

    sources.latest.fail();
    expect(sources.latest.closed).toBe(true);

    jest.advanceTimersByTime(999);
    expect(sources.opened).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(sources.opened).toHaveLength(2);

    sources.latest.fail();
    jest.advanceTimersByTime(1999);
    expect(sources.opened).toHaveLength(2);
    jest.advanceTimersByTime(1);
    expect(sources.opened).toHaveLength(3);

    sources.latest.fail();
    jest.advanceTimersByTime(4000);
    expect(sources.opened).toHaveLength(4);

    sources.latest.fail();
    jest.advanceTimersByTime(3999);
    expect(sources.opened).toHaveLength(4);
    jest.advanceTimersByTime(1);
    expect(sources.opened).toHaveLength(5);

    sources.latest.open();
    sources.latest.fail();
    jest.advanceTimersByTime(1000);
    expect(sources.opened).toHaveLength(6);
  });

  it('polls while the stream is down and stops polling once it is back', () => {
    sut.start();
    sources.latest.open();

    sources.latest.fail();

    expect(sut.state()).toBe('polling');
    expect(resyncs).toBe(1);

    // The API stays down for a while: the reconnects fail, the polling goes on.
    jest.advanceTimersByTime(1000);
    sources.latest.fail();
    jest.advanceTimersByTime(2000);
    sources.latest.fail();
    jest.advanceTimersByTime(12_000);
    expect(resyncs).toBe(2);
    jest.advanceTimersByTime(15_000);
    expect(resyncs).toBe(3);

    jest.advanceTimersByTime(4000);
    sources.latest.open();

    expect(sut.state()).toBe('live');
    expect(resyncs).toBe(4);
    jest.advanceTimersByTime(60_000);
    expect(resyncs).toBe(4);
  });

  it('polls from the start when the stream cannot be opened in the first place', () => {
    sut.start();

    sources.latest.fail();

    expect(sut.state()).toBe('polling');
    expect(resyncs).toBe(1);
  });

  it('closes the stream, and neither reconnects nor polls, once stopped', () => {
    sut.start();
    sources.latest.open();
    sources.latest.fail();

    sut.stop();
    jest.advanceTimersByTime(120_000);

    expect(sut.state()).toBe('off');
    expect(sources.opened).toHaveLength(1);
    expect(resyncs).toBe(1);
  });

  it('ignores a late error from a stream it already replaced', () => {
    sut.start();
    const first = sources.latest;
    first.open();
    first.fail();
    jest.advanceTimersByTime(1000);
    sources.latest.open();

    first.fail();

    expect(sut.state()).toBe('live');
  });
});
