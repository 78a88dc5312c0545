import { PauseChange, RefreshPause } from './refresh-pause';

describe(RefreshPause.name, () => {
  it('tells its listeners once when a pause starts and once when it ends, however often either is reported', () => {
    const pause = new RefreshPause();
    const changes: PauseChange[] = [];
    pause.onChange((change) => changes.push(change));

    pause.resume();
    pause.pauseFor('Amazon rejected our client credentials (invalid_client).');
    pause.pauseFor(
      'Amazon rejected our client credentials (unauthorized_client).',
    );
    pause.resume();
    pause.resume();
    pause.pauseFor('again');

    expect(changes).toEqual([
      {
        paused: true,
        reason: 'Amazon rejected our client credentials (invalid_client).',
      },
      { paused: false, pausedForMs: expect.any(Number) },
      { paused: true, reason: 'again' },
    ]);
    expect(pause.reason).toBe('again');
  });

  it('pauses and resumes even when a listener throws', () => {
    const pause = new RefreshPause();
    pause.onChange(() => {
      throw new Error('listener broke');
    });

    pause.pauseFor('paused');
    expect(pause.reason).toBe('paused');
    pause.resume();
    expect(pause.reason).toBeUndefined();
  });
});
