import { HttpErrorResponse } from '@angular/common/http';
import { inject, Injectable, signal } from '@angular/core';
import { catchError, map, mergeMap, of, Subject } from 'rxjs';
import { ConnectionsApi } from './connections.api';

/** At most this many `GET /connections/:id` at once; the rest wait their turn. */
export const LABEL_REQUESTS_IN_FLIGHT = 4;

/**
 * The labels of connections named by id (a key's scope, an audit row), shared by the console:
 * each id is asked for once (`GET /connections/:id`), a few at a time, and remembered. An id the
 * API does not know (404) is shown as itself; after any other failure it is asked again the
 * next time it is needed.
 */
@Injectable({ providedIn: 'root' })
export class ConnectionLabels {
  private readonly api = inject(ConnectionsApi);
  /** Known labels; an id maps to itself when the API answered 404. */
  private readonly known = signal<ReadonlyMap<string, string>>(new Map());
  private readonly asked = new Set<string>();
  private readonly wanted = new Subject<string>();

  constructor() {
    this.wanted
      .pipe(
        mergeMap(
          (id) =>
            this.api.get(id, 'quiet').pipe(
              map((connection): string | null => connection.label),
              catchError((error: unknown) =>
                of(
                  error instanceof HttpErrorResponse && error.status === 404
                    ? id
                    : null,
                ),
              ),
              map((label) => ({ id, label })),
            ),
          LABEL_REQUESTS_IN_FLIGHT,
        ),
      )
      .subscribe(({ id, label }) => {
        if (label === null) {
          this.asked.delete(id);
          return;
        }
        this.remember(id, label);
      });
  }

  /** The label of `id` once known (reading it is reactive), else the id itself. */
  labelOf(id: string): string {
    return this.known().get(id) ?? id;
  }

  /** Asks the API for the labels of the ids not known yet nor already asked for. */
  load(ids: Iterable<string | null | undefined>): void {
    for (const id of ids) {
      if (!id || this.asked.has(id)) continue;
      this.asked.add(id);
      this.wanted.next(id);
    }
  }

  /** A label learnt otherwise (a search's answer, a rename): no request for it. */
  remember(id: string, label: string): void {
    this.asked.add(id);
    if (this.known().get(id) === label) return;
    this.known.update((known) => new Map(known).set(id, label));
  }
}
