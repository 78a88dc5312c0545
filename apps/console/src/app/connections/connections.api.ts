import { HttpClient } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import type {
  ConnectionDto,
  Region,
  RefreshResultDto,
  UpdateConnectionRequest,
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

/**
 * `GET/PATCH/DELETE /connections`, `POST /connections/:id/refresh` and
 * `POST /connections/:id/profiles/refresh`.
 */
@Injectable({ providedIn: 'root' })
export class ConnectionsApi {
  private readonly http = inject(HttpClient);

  list(errors: ErrorHandling = 'toast'): Observable<ConnectionDto[]> {
    return this.http.get<ConnectionDto[]>(
      CONNECTIONS_URL,
      handleErrors(errors),
    );
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
