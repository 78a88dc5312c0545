import { AmazonOutage } from './amazon-outage';

const MINUTE = 60 * 1000;

/** The clock is Jest's fake one: `at(ms)` sets it, relative to an arbitrary start. */
describe(AmazonOutage.name, () => {
  const start = Date.UTC(2030, 0, 1, 12, 0, 0);
  const at = (ms: number) => jest.setSystemTime(start + ms);
  let sut: AmazonOutage;

  beforeEach(() => {
    jest.useFakeTimers({ now: start });
    sut = new AmazonOutage();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('is not an outage when one connection fails, however often', () => {
    sut.failed('a', 'server_error');
    at(1 * MINUTE);
    sut.failed('a', 'timeout');
    at(2 * MINUTE);
    sut.failed('a', 'network');

    expect(sut.seemsDown).toBe(false);
  });

  it('is an outage when two different connections fail within 15 minutes', () => {
    sut.failed('a', 'server_error');
    at(15 * MINUTE);
    sut.failed('b', 'timeout');

    expect(sut.seemsDown).toBe(true);
  });

  it('is not an outage when the two failures are more than 15 minutes apart, and ends when the first ages out', () => {
    sut.failed('a', 'server_error');
    at(15 * MINUTE + 1);
    sut.failed('b', 'server_error');

    expect(sut.seemsDown).toBe(false);

    at(20 * MINUTE);
    sut.failed('c', 'server_error');
    expect(sut.seemsDown).toBe(true);
    // b failed at 15 min + 1 ms: 15 minutes later it still counts, a millisecond after not.
    at(30 * MINUTE + 1);
    expect(sut.seemsDown).toBe(true);
    at(30 * MINUTE + 2);
    expect(sut.seemsDown).toBe(false);
  });

  it('is an outage at once when Amazon rate-limits us (a 429), and stays one until a success', () => {
    sut.failed('a', 'rate_limited');

    expect(sut.seemsDown).toBe(true);
    at(60 * MINUTE);
    expect(sut.seemsDown).toBe(true);
    expect(sut.succeeded('a')).toBe(true);
    expect(sut.seemsDown).toBe(false);
  });

  it('ends an outage at the first success and forgets every failure seen', () => {
    sut.failed('a', 'server_error');
    sut.failed('b', 'server_error');

    expect(sut.succeeded('c')).toBe(true);
    expect(sut.seemsDown).toBe(false);
    sut.failed('a', 'server_error');
    expect(sut.seemsDown).toBe(false);
  });

  it("outside an outage, a success forgets only its own connection's failure", () => {
    sut.failed('a', 'server_error');
    expect(sut.succeeded('a')).toBe(false);
    sut.failed('b', 'server_error');
    expect(sut.seemsDown).toBe(false);

    // Another connection's success in between (as when Amazon flaps) does not matter.
    expect(sut.succeeded('c')).toBe(false);
    sut.failed('d', 'server_error');
    expect(sut.seemsDown).toBe(true);
  });

  it('clear() forgets every failure, a rate limit included', () => {
    sut.failed('a', 'rate_limited');
    sut.failed('b', 'server_error');

    sut.clear();

    expect(sut.seemsDown).toBe(false);
  });
});
