import { HttpClient } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import type {
  ConnectionPageDto,
  CreatedServiceKeyDto,
  CreateServiceKeyRequest,
  ServiceKeyDto,
} from '@keeper/contracts';
import { map, Observable } from 'rxjs';
import { API_PREFIX, ErrorHandling, handleErrors } from '../core/api';
import {
  CONNECTIONS_URL,
  connectionsQueryParams,
} from '../connections/connections.api';

export const SERVICE_KEYS_URL = `${API_PREFIX}/service-keys`;

/** What the picker and the scope column need of a connection. */
export interface ConnectionChoice {
  id: string;
  label: string;
  region: string;
  status: string;
}

/** How many matching connections the picker asks for at once; the search narrows the rest. */
export const PICKER_SHOWN_MAX = 50;

/** `GET/POST /service-keys`, `DELETE /service-keys/:id`, and a search of the connections to pick from. */
@Injectable({ providedIn: 'root' })
export class ServiceKeysApi {
  private readonly http = inject(HttpClient);

  list(errors: ErrorHandling = 'toast'): Observable<ServiceKeyDto[]> {
    return this.http.get<ServiceKeyDto[]>(
      SERVICE_KEYS_URL,
      handleErrors(errors),
    );
  }

  /** The caller words the failure itself (the dialog shows it beside the form). */
  create(request: CreateServiceKeyRequest): Observable<CreatedServiceKeyDto> {
    return this.http.post<CreatedServiceKeyDto>(
      SERVICE_KEYS_URL,
      request,
      handleErrors('quiet'),
    );
  }

  revoke(id: string): Observable<ServiceKeyDto> {
    return this.http.delete<ServiceKeyDto>(
      `${SERVICE_KEYS_URL}/${encodeURIComponent(id)}`,
    );
  }

  /**
   * The connections matching `q` (the API's search over labels, account ids, profile ids and
   * names), at most PICKER_SHOWN_MAX of them; an empty `q`: the first page.
   */
  searchConnections(
    q: string,
    errors: ErrorHandling = 'quiet',
  ): Observable<{ choices: ConnectionChoice[]; more: boolean }> {
    // The limit said even while it is the API's default: the picker's size is its own.
    const params = connectionsQueryParams({ q }).set(
      'limit',
      String(PICKER_SHOWN_MAX),
    );
    return this.http
      .get<ConnectionPageDto>(CONNECTIONS_URL, {
        ...handleErrors(errors),
        params,
      })
      .pipe(
        map((page) => ({
          choices: page.items.map(({ id, label, region, status }) => ({
            id,
            label,
            region,
            status,
          })),
          more: page.nextCursor !== null,
        })),
      );
  }
}
