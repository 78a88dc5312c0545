import { AdsPathError, adsTargetOf, loggedPath, upstreamUrl } from './ads-path';

const ID = '6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12';
const at = (rest: string) => `/api/v1/connections/${ID}/ads${rest}`;

describe('the Ads API path a proxied call names', () => {
  it.each([
    ['/v2/profiles', '/v2/profiles', ''],
    [
      '/v2/profiles?profileTypeFilter=seller',
      '/v2/profiles',
      'profileTypeFilter=seller',
    ],
    ['/reporting/reports/abc-123', '/reporting/reports/abc-123', ''],
    [
      '/v2/sp/campaigns?stateFilter=enabled,paused&count=10',
      '/v2/sp/campaigns',
      'stateFilter=enabled,paused&count=10',
    ],
    ['/dsp/advertisers/', '/dsp/advertisers/', ''],
    ['/v2/echo/a%20b', '/v2/echo/a%20b', ''],
  ])('passes %s as it came', (rest, path, query) => {
    expect(adsTargetOf(at(rest))).toEqual({ path, query });
  });

  it.each([
    ['', /Name an Ads API path/],
    ['/', /Name an Ads API path/],
    ['//evil.example/x', /empty segment/],
    ['/v2//profiles', /empty segment/],
    ['/../admin', /"\." or "\.\."/],
    ['/v2/./profiles', /"\." or "\.\."/],
    ['/v2/%2e%2e/x', /"\." or "\.\."/],
    ['/v2/%2E%2E/x', /"\." or "\.\."/],
    ['/v2/.%2e/x', /"\." or "\.\."/],
    ['/v2/%2fetc', /encode/],
    ['/v2/%5cetc', /encode/],
    ['/v2/%252e%252e/x', /encode/],
    ['/v2/%00', /encode/],
    ['/v2/%zz', /percent-encoded/],
    ['/v2/a b', /percent-encoded/],
    ['/v2/a\\b', /percent-encoded/],
    ['/v2/é', /percent-encoded/],
    ['/v2/profiles?x=a b', /query/],
    ['/v2/profiles?x=%zz', /query/],
  ])('refuses %p', (rest, message) => {
    expect(() => adsTargetOf(at(rest))).toThrow(AdsPathError);
    expect(() => adsTargetOf(at(rest))).toThrow(message);
  });

  it('refuses a path longer than 2,048 characters', () => {
    expect(() => adsTargetOf(at(`/${'a'.repeat(2_048)}`))).toThrow(
      /longer than 2048/,
    );
  });

  it('builds the URL on the region host, whatever the caller wrote', () => {
    expect(
      upstreamUrl('https://advertising-api-eu.amazon.com', {
        path: '/v2/profiles',
        query: 'a=1',
      }).href,
    ).toBe('https://advertising-api-eu.amazon.com/v2/profiles?a=1');
    expect(
      upstreamUrl('http://127.0.0.1:4010/', { path: '/x/y', query: '' }).href,
    ).toBe('http://127.0.0.1:4010/x/y');
  });

  it('refuses, as a last check, a URL whose path the parser would change', () => {
    // adsTargetOf refuses these first; upstreamUrl must not rely on it.
    expect(() =>
      upstreamUrl('https://advertising-api.amazon.com', {
        path: '/a/../../b',
        query: '',
      }),
    ).toThrow(/leave the Amazon host/);
    expect(() =>
      upstreamUrl('https://advertising-api.amazon.com', {
        path: '@evil.example/x',
        query: '',
      }),
    ).toThrow(AdsPathError);
  });

  it('logs the query names without their values', () => {
    expect(
      loggedPath({
        path: '/v2/sp/campaigns',
        query: 'stateFilter=enabled&startIndex=0',
      }),
    ).toBe('/v2/sp/campaigns?stateFilter=…&startIndex=…');
    expect(loggedPath({ path: '/v2/profiles', query: '' })).toBe(
      '/v2/profiles',
    );
  });
});
