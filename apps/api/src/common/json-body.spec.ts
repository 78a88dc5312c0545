import { jsonShapeProblem } from './json-body';

const check = (text: string, depth = 3, values = 5) =>
  jsonShapeProblem(Buffer.from(text), depth, values);

describe('jsonShapeProblem', () => {
  it('accepts bodies within the limits, counting brackets and commas only outside strings', () => {
    expect(check('{"a":[1,2],"b":{"c":3}}')).toBeUndefined();
    expect(check('{"a":"[[[[[,,,,,,"}')).toBeUndefined();
    expect(check('{"a":"\\\\","b":"\\"[[[["}')).toBeUndefined();
    expect(check('{"é€😀":"[[[["}')).toBeUndefined();
  });

  it('refuses the first level too deep and too many values', () => {
    expect(check('[[[[]]]]')).toBe(
      'The request body is nested too deeply: at most 3 levels.',
    );
    expect(check('[1,2,3,4,5,6]')).toBe(
      'The request body holds too many values: at most 5.',
    );
    expect(check(`${'['.repeat(60_000)}`)).toMatch(/nested too deeply/);
  });

  it('leaves malformed text to the parser', () => {
    expect(check('{"a": ')).toBeUndefined();
    expect(check(']]]]')).toBeUndefined();
  });
});
