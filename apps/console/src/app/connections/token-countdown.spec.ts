import { Component, signal } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { ClockOffset } from '../core/clock-offset';
import { TokenCountdown } from './token-countdown';

@Component({
  imports: [TokenCountdown],
  template: `<atk-token-countdown
    [expiresAt]="expiresAt()"
    [refreshing]="refreshing()"
  />`,
})
class Host {
  readonly expiresAt = signal<string | null>('2026-11-24T15:00:00.000Z');
  readonly refreshing = signal(false);
}

describe(TokenCountdown.name, () => {
  const start = Date.parse('2026-11-24T14:47:30.000Z');

  beforeEach(() => {
    jest.useFakeTimers({ now: start });
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  function render() {
    const fixture = TestBed.createComponent(Host);
    fixture.detectChanges();
    const element = fixture.nativeElement as HTMLElement;
    return {
      fixture,
      line: () =>
        element
          .querySelector('.line')
          ?.textContent?.replace(/\s+/g, ' ')
          .trim(),
      bar: () => element.querySelector('mat-progress-bar'),
      tick(ms: number) {
        jest.advanceTimersByTime(ms);
        fixture.detectChanges();
      },
    };
  }

  it('ticks down every second as mm:ss', () => {
    const sut = render();
    expect(sut.line()).toBe('Access token expires in 12:30');

    sut.tick(1000);
    expect(sut.line()).toBe('Access token expires in 12:29');

    sut.tick(89_000);
    expect(sut.line()).toBe('Access token expires in 11:00');
  });

  it("draws the share of the token's lifetime left as a labelled bar", () => {
    const sut = render();

    expect(sut.bar()?.getAttribute('aria-valuenow')).toBe('21');
    expect(sut.bar()?.getAttribute('aria-label')).toBe(
      "Share of the access token's lifetime left",
    );

    sut.tick(6 * 60_000);
    expect(sut.bar()?.getAttribute('aria-valuenow')).toBe('11');
  });

  it('says the token expired once it has', () => {
    const sut = render();

    sut.tick(12 * 60_000 + 29_000);
    expect(sut.line()).toBe('Access token expires in 00:01');

    sut.tick(1000);
    expect(sut.line()).toBe('Access token: expired');
    expect(sut.bar()?.getAttribute('aria-valuenow')).toBe('0');
  });

  it("counts in the server's time when this machine's clock is off", () => {
    const sut = render();

    // The server's Date header says it is 14:50:00 while this machine reads 14:47:30.
    TestBed.inject(ClockOffset).record(
      'Tue, 24 Nov 2026 14:50:00 GMT',
      start,
      start,
    );
    sut.fixture.detectChanges();

    expect(sut.line()).toBe('Access token expires in 10:00');
  });

  it('says "refreshing…" with a running bar while a refresh runs', () => {
    const sut = render();

    sut.fixture.componentInstance.refreshing.set(true);
    sut.fixture.detectChanges();

    expect(sut.line()).toBe('Access token: refreshing…');
    expect(sut.bar()?.getAttribute('mode')).toBe('indeterminate');
  });

  it('says there is no token when there is none', () => {
    const sut = render();

    sut.fixture.componentInstance.expiresAt.set(null);
    sut.fixture.detectChanges();

    expect(sut.line()).toBe('No access token');
    expect(sut.bar()).toBeNull();
  });
});
