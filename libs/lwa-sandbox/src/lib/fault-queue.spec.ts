import { FaultQueue, parseFaultSpec } from './fault-queue';
import { SandboxInputError } from './sandbox-input.error';

describe(parseFaultSpec.name, () => {
  it('accepts status kinds as numbers or strings', () => {
    expect(
      parseFaultSpec({ endpoint: 'token', kind: 429, retryAfter: 3 }),
    ).toEqual({ endpoint: 'token', kind: '429', retryAfter: 3 });
    expect(
      parseFaultSpec({ endpoint: 'profiles', kind: '503', count: 2 }),
    ).toEqual({ endpoint: 'profiles', kind: '503', count: 2 });
    expect(parseFaultSpec({ endpoint: 'ads', kind: 'unauthorized' })).toEqual({
      endpoint: 'ads',
      kind: 'unauthorized',
    });
  });

  it.each([
    [{ endpoint: 'dsp', kind: '500' }, /endpoint must be one of/],
    [
      { endpoint: 'profiles', kind: 'invalid_grant' },
      /kind for endpoint "profiles"/,
    ],
    [
      { endpoint: 'authorize', kind: 'malformed_json' },
      /kind for endpoint "authorize"/,
    ],
    [
      { endpoint: 'ads', kind: 'invalid_grant' },
      /kind for endpoint "ads" must be one of 429, 500, 503, timeout, reset, slow, unauthorized/,
    ],
    [{ endpoint: 'token', kind: '500', count: 0 }, /count must be/],
    [
      { endpoint: 'token', kind: '500', ms: 10 },
      /ms applies to slow and timeout/,
    ],
    [
      { endpoint: 'token', kind: '500', retryAfter: 1 },
      /retryAfter applies to 429 and 503/,
    ],
    [
      { endpoint: 'token', kind: '429', retryAfter: 'two\nlines' },
      /printable ASCII/,
    ],
    [
      {
        endpoint: 'token',
        kind: '429',
        retryAfter: 'x',
        retryAfterFormat: 'http-date',
      },
      /numeric retryAfter/,
    ],
    [
      { endpoint: 'token', kind: 'slow', colour: 'red' },
      /unknown fault field "colour"/,
    ],
    ['reset', /JSON object/],
  ])('refuses %j', (input, message) => {
    expect(() => parseFaultSpec(input)).toThrow(SandboxInputError);
    expect(() => parseFaultSpec(input)).toThrow(message);
  });
});

describe(FaultQueue.name, () => {
  it('serves faults first in, first out, each for its count', () => {
    const sut = new FaultQueue();
    sut.add({ endpoint: 'token', kind: '500', count: 2 });
    sut.add({ endpoint: 'token', kind: 'reset' });

    const kinds = [
      sut.take('token'),
      sut.take('token'),
      sut.take('token'),
      sut.take('token'),
    ].map((fault) => fault?.kind);

    expect(kinds).toEqual(['500', '500', 'reset', undefined]);
  });

  it('keeps endpoints apart and clears one or all', () => {
    const sut = new FaultQueue();
    sut.add({ endpoint: 'token', kind: '500' });
    sut.add({ endpoint: 'profiles', kind: '500' });
    sut.add({ endpoint: 'authorize', kind: '503' });

    expect(sut.take('profiles')?.kind).toBe('500');
    expect(sut.clear('token')).toBe(1);
    expect(sut.list().map((fault) => fault.endpoint)).toEqual(['authorize']);
    expect(sut.clear()).toBe(1);
    expect(sut.list()).toEqual([]);
  });
});
