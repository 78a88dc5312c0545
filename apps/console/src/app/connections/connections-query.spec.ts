import { connectionsQueryParams } from './connections.api';
import { sortOf, sortState } from './connections.page';

describe('the query of GET /connections', () => {
  it('leaves the defaults and blanks out', () => {
    expect(connectionsQueryParams({}).toString()).toBe('');
    expect(
      connectionsQueryParams({
        status: [],
        region: [],
        q: '   ',
        sort: 'created',
        cursor: null,
        limit: 50,
      }).toString(),
    ).toBe('');
  });

  it('repeats status and region, trims q, and keeps the cursor as the API gave it', () => {
    expect(
      connectionsQueryParams({
        status: ['degraded', 'needs_reauth'],
        region: ['na', 'eu'],
        q: '  acme & co ',
        sort: '-expiry',
        cursor: 'eyJrIjoiMjAyNiJ9+/=',
        limit: 200,
      }).toString(),
      // Angular leaves `=` and `/` as they are in a value (a parser splits at the first `=`);
      // `+` must not turn into a space.
    ).toBe(
      'status=degraded&status=needs_reauth&region=na&region=eu&q=acme%20%26%20co&sort=-expiry&cursor=eyJrIjoiMjAyNiJ9%2B/=&limit=200',
    );
  });
});

describe('the table headers and the API orders', () => {
  it.each([
    [{ active: 'label', direction: 'asc' as const }, 'label'],
    [{ active: 'label', direction: 'desc' as const }, '-label'],
    [{ active: 'expiry', direction: 'asc' as const }, 'expiry'],
    [{ active: 'status', direction: 'desc' as const }, '-status'],
    [{ active: 'label', direction: '' as const }, 'created'],
    [{ active: 'region', direction: 'asc' as const }, 'created'],
  ])('%j sorts by %s', (sort, expected) => {
    expect(sortOf(sort)).toBe(expected);
  });

  it('shows no arrow for the default order, and the column and direction otherwise', () => {
    expect(sortState('created')).toEqual({ active: '', direction: '' });
    expect(sortState('-created')).toEqual({ active: '', direction: '' });
    expect(sortState('-expiry')).toEqual({
      active: 'expiry',
      direction: 'desc',
    });
    expect(sortState('label')).toEqual({ active: 'label', direction: 'asc' });
  });
});
