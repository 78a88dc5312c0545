import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The console's nginx (Dockerfile.web) must not hand `/metrics` to anyone who reaches the
 * console's port; there is no nginx binary in CI, so its configuration is read as text.
 */
describe('the console nginx template', () => {
  const template = readFileSync(
    join(__dirname, '../../../console/nginx/default.conf.template'),
    'utf8',
  );
  const locations = [
    ...template.matchAll(/^\s*location\s+([^{]+?)\s*\{([^}]*)\}/gm),
  ].map(([, match, body]) => ({ match, body }));

  it('proxies no location that can match /metrics to the API', () => {
    const proxied = locations.filter((location) =>
      location.body.includes('proxy_pass'),
    );

    expect(proxied.map((location) => location.match)).toEqual(
      expect.arrayContaining(['/api/']),
    );
    for (const { match } of proxied) {
      const regex = /^~\*?\s+(.+)$/.exec(match);
      const matchesMetrics = regex
        ? new RegExp(regex[1]).test('/metrics')
        : '/metrics'.startsWith(match.replace(/^(=|\^~)\s+/, ''));
      expect({ match, matchesMetrics }).toEqual({
        match,
        matchesMetrics: false,
      });
    }
  });

  it('answers /metrics itself with 404 instead of the console page, still proxying /health', () => {
    expect(locations).toEqual(
      expect.arrayContaining([
        {
          match: '^~ /metrics',
          body: expect.stringMatching(/^\s*return 404;\s*$/),
        },
        { match: '~ ^/health', body: expect.stringContaining('proxy_pass') },
      ]),
    );
  });
});
