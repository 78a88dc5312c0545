import { LiveAnnouncer } from '@angular/cdk/a11y';
import { Clipboard } from '@angular/cdk/clipboard';
import { Component } from '@angular/core';
import { TestBed } from '@angular/core/testing';
import { readableText } from '../../testing/render-console';
import { COPIED_FOR_MS, CopyButton } from './copy-button';

@Component({
  imports: [CopyButton],
  template: `<atk-copy-button
    text="https://keeper.example/x"
    what="the URL"
  />`,
})
class Host {}

describe(CopyButton.name, () => {
  beforeEach(() => {
    jest.useFakeTimers();
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
      words: () => readableText(element, 'atk-copy-button'),
      click() {
        element.querySelector('button')?.click();
        fixture.detectChanges();
      },
    };
  }

  it('says "Copied" for a moment, then offers to copy again', () => {
    const copy = jest
      .spyOn(TestBed.inject(Clipboard), 'copy')
      .mockReturnValue(true);
    const sut = render();
    expect(sut.words()).toBe('Copy the URL');

    sut.click();
    expect(copy).toHaveBeenCalledWith('https://keeper.example/x');
    expect(sut.words()).toBe('Copied the URL');

    jest.advanceTimersByTime(COPIED_FOR_MS - 1);
    sut.fixture.detectChanges();
    expect(sut.words()).toBe('Copied the URL');

    jest.advanceTimersByTime(1);
    sut.fixture.detectChanges();
    expect(sut.words()).toBe('Copy the URL');
  });

  it('says "Copied" its full time again after a second click', () => {
    jest.spyOn(TestBed.inject(Clipboard), 'copy').mockReturnValue(true);
    const sut = render();

    sut.click();
    jest.advanceTimersByTime(COPIED_FOR_MS - 100);
    sut.click();
    jest.advanceTimersByTime(COPIED_FOR_MS - 100);
    sut.fixture.detectChanges();

    expect(sut.words()).toBe('Copied the URL');
  });

  it('says when the browser refused to copy, there and to screen readers', () => {
    jest.spyOn(TestBed.inject(Clipboard), 'copy').mockReturnValue(false);
    const announce = jest.spyOn(TestBed.inject(LiveAnnouncer), 'announce');
    const sut = render();

    sut.click();

    expect(sut.words()).toBe('Copy failed the URL');
    expect(announce).toHaveBeenCalledWith(
      'Could not copy the URL: select it and copy it by hand.',
      'assertive',
    );
  });
});
