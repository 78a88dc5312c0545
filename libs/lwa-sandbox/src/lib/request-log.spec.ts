import { RequestLog, RequestLogEntry } from './request-log';

function entry(
  path: string,
  endpoint: RequestLogEntry['endpoint'] = 'token',
): Omit<RequestLogEntry, 'id'> {
  return {
    receivedAt: '2026-01-01T00:00:00.000Z',
    method: 'POST',
    path,
    endpoint,
    authorizationPresent: false,
    status: 200,
    outcome: 'ok',
    durationMs: 1,
  };
}

describe(RequestLog.name, () => {
  it('keeps the newest entries, oldest first, with increasing ids', () => {
    const sut = new RequestLog(3);
    for (const path of ['/a', '/b', '/c', '/d', '/e']) sut.append(entry(path));

    const entries = sut.list();

    expect(entries.map((each) => each.path)).toEqual(['/c', '/d', '/e']);
    expect(entries.map((each) => each.id)).toEqual([3, 4, 5]);
  });

  it('filters by endpoint and limits to the newest', () => {
    const sut = new RequestLog(10);
    sut.append(entry('/1', 'token'));
    sut.append(entry('/2', 'profiles'));
    sut.append(entry('/3', 'token'));
    sut.append(entry('/4', 'token'));

    expect(
      sut.list({ endpoint: 'token', limit: 2 }).map((each) => each.path),
    ).toEqual(['/3', '/4']);
    expect(sut.list({ limit: 0 })).toEqual([]);
  });

  it('clears', () => {
    const sut = new RequestLog(2);
    sut.append(entry('/a'));
    sut.clear();
    sut.append(entry('/b'));

    expect(sut.list().map((each) => each.path)).toEqual(['/b']);
  });
});
