import { HttpClient, HttpParams } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import {
  CONNECTION_PAGE_LIMITS,
  type ConnectionDto,
  type ConnectionPageDto,
  type ConnectionSort,
  type ConnectionStatus,
  type Region,
  type RefreshResultDto,
  type UpdateConnectionRequest,
} from '@keeper/contracts';
import { Observable } from 'rxjs';
import { API_PREFIX, ErrorHandling, handleErrors } from '../core/api';

export const CONNECTIONS_URL = `${API_PREFIX}/connections`;

/**
 * Where the browser goes to connect an account in `region`: the API answers with a redirect
 * to Amazon's consent page, so this is a page navigation, not an API call.
 */
export function connectStartUrl(region: Region): string {
  return `${API_PREFIX}/auth/amazon/start?region=${encodeURIComponent(region)}`;
}

/** What the Connections table asks for; every part is optional. */
export interface ConnectionsQuery {
  /** Any of these statuses; empty: every status. */
  status?: readonly ConnectionStatus[];
  /** Any of these regions; empty: every region. */
  region?: readonly Region[];
  /** Text matched by the API against labels, account ids, profile ids and names. */
  q?: string;
  /** The API's default (`created`) is left out of the URL. */
  sort?: ConnectionSort;
  /** `nextCursor` of the previous page, with the same filters and sort. */
  cursor?: string | null;
  limit?: number;
}

/**
 * The query string of `GET /connections` for `query`: `status` and `region` repeated, in a
 * fixed order (so equal queries make equal URLs), defaults and blanks left out.
 */
export function connectionsQueryParams(query: ConnectionsQuery): HttpParams {
  let params = new HttpParams();
  for (const status of query.status ?? []) {
    params = params.append('status', status);
  }
  for (const region of query.region ?? []) {
    params = params.append('region', region);
  }
  const q = query.q?.trim();
  if (q) params = params.set('q', q);
  if (query.sort && query.sort !== 'created') {
    params = params.set('sort', query.sort);
  }
  if (query.cursor) params = params.set('cursor', query.cursor);
  if (query.limit && query.limit !== CONNECTION_PAGE_LIMITS.default) {
    params = params.set('limit', String(query.limit));
  }
  return params;
}

/**
 * `GET/PATCH/DELETE /connections`, `POST /connections/:id/refresh` and
 * `POST /connections/:id/profiles/refresh`.
 */
@Injectable({ providedIn: 'root' })
export class ConnectionsApi {
  private readonly http = inject(HttpClient);

  /** One page of connections, with the counts by status over the whole set. */
  page(
    query: ConnectionsQuery = {},
    errors: ErrorHandling = 'toast',
  ): Observable<ConnectionPageDto> {
    return this.http.get<ConnectionPageDto>(CONNECTIONS_URL, {
      ...handleErrors(errors),
      params: connectionsQueryParams(query),
    });
  }

  get(id: string, errors: ErrorHandling = 'toast'): Observable<ConnectionDto> {
    return this.http.get<ConnectionDto>(
      `${CONNECTIONS_URL}/${encodeURIComponent(id)}`,
      handleErrors(errors),
    );
  }

  rename(id: string, label: string): Observable<ConnectionDto> {
    const body: UpdateConnectionRequest = { label };
    return this.http.patch<ConnectionDto>(
      `${CONNECTIONS_URL}/${encodeURIComponent(id)}`,
      body,
    );
  }

  /** The caller words the failure itself (which connection, what Amazon said). */
  refresh(id: string): Observable<RefreshResultDto> {
    return this.http.post<RefreshResultDto>(
      `${CONNECTIONS_URL}/${encodeURIComponent(id)}/refresh`,
      null,
      handleErrors('quiet'),
    );
  }

  /**
   * Reads the connection's profiles and DSP advertisers from Amazon now; answers the
   * connection as it is after the read. The caller words the failure itself.
   */
  refreshProfiles(id: string): Observable<ConnectionDto> {
    return this.http.post<ConnectionDto>(
      `${CONNECTIONS_URL}/${encodeURIComponent(id)}/profiles/refresh`,
      null,
      handleErrors('quiet'),
    );
  }

  disconnect(id: string): Observable<ConnectionDto> {
    return this.http.delete<ConnectionDto>(
      `${CONNECTIONS_URL}/${encodeURIComponent(id)}`,
    );
  }
}
