import { OPENED_TOKENS_MAX, OpenedTokens } from './opened-tokens';

describe('OpenedTokens', () => {
  const opener = () => {
    const opened: string[] = [];
    return {
      opened,
      open: (ciphertext: string) => {
        opened.push(ciphertext);
        return `plain:${ciphertext}`;
      },
    };
  };

  it('opens a ciphertext once while it is the one stored for the connection', () => {
    const tokens = new OpenedTokens();
    const { opened, open } = opener();
    expect(tokens.open('a', 'c1', open)).toBe('plain:c1');
    expect(tokens.open('a', 'c1', open)).toBe('plain:c1');
    expect(opened).toEqual(['c1']);
  });

  it('opens the new ciphertext after a refresh and holds only that one', () => {
    const tokens = new OpenedTokens();
    const { opened, open } = opener();
    tokens.open('a', 'c1', open);
    expect(tokens.open('a', 'c2', open)).toBe('plain:c2');
    expect(tokens.open('a', 'c1', open)).toBe('plain:c1');
    expect(opened).toEqual(['c1', 'c2', 'c1']);
    expect(tokens.size).toBe(1);
  });

  it('forgets a connection', () => {
    const tokens = new OpenedTokens();
    const { opened, open } = opener();
    tokens.open('a', 'c1', open);
    tokens.forget('a');
    tokens.open('a', 'c1', open);
    expect(opened).toEqual(['c1', 'c1']);
  });

  it('holds at most OPENED_TOKENS_MAX connections, the oldest opened leaving first', () => {
    const tokens = new OpenedTokens();
    const { opened, open } = opener();
    for (let index = 0; index <= OPENED_TOKENS_MAX; index += 1)
      tokens.open(`id${index}`, `c${index}`, open);
    expect(tokens.size).toBe(OPENED_TOKENS_MAX);
    opened.length = 0;
    tokens.open(`id${OPENED_TOKENS_MAX}`, `c${OPENED_TOKENS_MAX}`, open);
    tokens.open('id0', 'c0', open);
    expect(opened).toEqual(['c0']);
  });

  it('keeps nothing when opening fails', () => {
    const tokens = new OpenedTokens();
    expect(() =>
      tokens.open('a', 'bad', () => {
        throw new Error('unreadable');
      }),
    ).toThrow('unreadable');
    expect(tokens.size).toBe(0);
  });
});
