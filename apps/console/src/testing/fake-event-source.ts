import type { ServerEventDto } from '@keeper/contracts';
import type { EventSourceLike } from '../app/core/events.service';

/** An `EventSource` that a test opens, feeds and breaks by hand. */
export class FakeEventSource implements EventSourceLike {
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent<string>) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  closed = false;

  constructor(readonly url: string) {}

  close(): void {
    this.closed = true;
  }

  /** The server accepted the stream. */
  open(): void {
    this.onopen?.(new Event('open'));
  }

  /** One `data:` line. */
  send(event: ServerEventDto | string): void {
    const data = typeof event === 'string' ? event : JSON.stringify(event);
    this.onmessage?.(new MessageEvent('message', { data }));
  }

  /** The stream broke (network, API restart, 401). */
  fail(): void {
    this.onerror?.(new Event('error'));
  }
}

/** Every stream the code under test opened, newest last. */
export class FakeEventSources {
  readonly opened: FakeEventSource[] = [];

  readonly factory = (url: string): FakeEventSource => {
    const source = new FakeEventSource(url);
    this.opened.push(source);
    return source;
  };

  /** The stream opened last. */
  get latest(): FakeEventSource {
    const source = this.opened.at(-1);
    if (!source) throw new Error('No event stream was opened.');
    return source;
  }
}
