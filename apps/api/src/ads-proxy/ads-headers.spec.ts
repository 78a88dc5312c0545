import {
  downstreamResponseHeaders,
  scopeOf,
  upstreamRequestHeaders,
} from './ads-headers';

describe('the headers that cross the proxy', () => {
  const credentials = { accessToken: 'Atza|fresh', clientId: 'amzn1.client' };

  it("sends Amazon's headers, content negotiation and the body's type, and the keeper's credentials", () => {
    expect(
      upstreamRequestHeaders(
        {
          authorization: 'Bearer service-key',
          cookie: 'atk_session=abc',
          'amazon-advertising-api-scope': '123',
          'amazon-ads-accountid': 'amzn1.ads-account.g.x',
          'amazon-advertising-api-clientid': 'someone-else',
          accept: 'application/vnd.spcampaign.v3+json',
          'content-type': 'application/vnd.createasyncreportrequest.v3+json',
          'content-length': '999',
          'x-forwarded-for': '10.0.0.1',
          'proxy-authorization': 'Basic eA==',
          'x-api-key': 'k',
          host: 'keeper.example',
          connection: 'keep-alive',
          'transfer-encoding': 'chunked',
        },
        credentials,
        42,
      ),
    ).toEqual({
      'amazon-advertising-api-scope': '123',
      'amazon-ads-accountid': 'amzn1.ads-account.g.x',
      accept: 'application/vnd.spcampaign.v3+json',
      'content-type': 'application/vnd.createasyncreportrequest.v3+json',
      authorization: 'Bearer Atza|fresh',
      'amazon-advertising-api-clientid': 'amzn1.client',
      'user-agent': 'ads-token-keeper',
      'content-length': '42',
    });
  });

  it('drops what a Connection header names, even an allowed header', () => {
    expect(
      upstreamRequestHeaders(
        { connection: 'close, Accept', accept: 'text/plain' },
        credentials,
        undefined,
      ),
    ).not.toHaveProperty('accept');
  });

  it("passes Amazon's answer headers but hop-by-hop ones and cookies", () => {
    expect(
      downstreamResponseHeaders({
        'content-type': 'application/json',
        'content-length': '10',
        location: 'https://s3.amazonaws.com/report?X-Amz-Signature=x',
        'retry-after': '3',
        'x-amzn-requestid': 'r1',
        'set-cookie': ['a=b'],
        connection: 'keep-alive, x-hop',
        'x-hop': '1',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
      }),
    ).toEqual({
      'content-type': 'application/json',
      'content-length': '10',
      location: 'https://s3.amazonaws.com/report?X-Amz-Signature=x',
      'retry-after': '3',
      'x-amzn-requestid': 'r1',
    });
  });

  it('reads one profile id as the scope', () => {
    expect(scopeOf({})).toBeUndefined();
    expect(
      scopeOf({ 'amazon-advertising-api-scope': ' 3421895712345678 ' }),
    ).toBe('3421895712345678');
    expect(scopeOf({ 'amazon-advertising-api-scope': '1, 2' })).toEqual({
      invalid: '1, 2',
    });
    expect(scopeOf({ 'amazon-advertising-api-scope': 'abc' })).toEqual({
      invalid: 'abc',
    });
  });
});
