import { HttpClient } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import type {
  ConnectLinkDto,
  CreateConnectLinkRequest,
  CreatedConnectLinkDto,
} from '@keeper/contracts';
import { Observable } from 'rxjs';
import { API_PREFIX, ErrorHandling, handleErrors } from '../core/api';

export const CONNECT_LINKS_URL = `${API_PREFIX}/connect-links`;

/** `GET/POST /connect-links`, `DELETE /connect-links/:id`. */
@Injectable({ providedIn: 'root' })
export class ConnectLinksApi {
  private readonly http = inject(HttpClient);

  list(errors: ErrorHandling = 'toast'): Observable<ConnectLinkDto[]> {
    return this.http.get<ConnectLinkDto[]>(
      CONNECT_LINKS_URL,
      handleErrors(errors),
    );
  }

  /** The caller words the failure itself (the dialog shows it beside the form). */
  create(request: CreateConnectLinkRequest): Observable<CreatedConnectLinkDto> {
    return this.http.post<CreatedConnectLinkDto>(
      CONNECT_LINKS_URL,
      request,
      handleErrors('quiet'),
    );
  }

  revoke(id: string): Observable<ConnectLinkDto> {
    return this.http.delete<ConnectLinkDto>(
      `${CONNECT_LINKS_URL}/${encodeURIComponent(id)}`,
    );
  }
}
