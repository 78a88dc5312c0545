import { HttpClient } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import type {
  ConnectionDto,
  CreatedServiceKeyDto,
  CreateServiceKeyRequest,
  ServiceKeyDto,
} from '@keeper/contracts';
import { map, Observable } from 'rxjs';
import { API_PREFIX, ErrorHandling, handleErrors } from '../core/api';

export const SERVICE_KEYS_URL = `${API_PREFIX}/service-keys`;

/** What the picker and the scope column need of a connection. */
export interface ConnectionChoice {
  id: string;
  label: string;
  region: string;
  status: string;
}

/**
 * The connections, as a list whichever shape `GET /connections` answers: the whole list (an
 * array), or a page of it (`{ items }`), in which case the first page is what there is to pick.
 */
export function connectionsOf(
  answer: ConnectionDto[] | { items?: ConnectionDto[] } | null,
): ConnectionChoice[] {
  const list = Array.isArray(answer) ? answer : (answer?.items ?? []);
  return list.map(({ id, label, region, status }) => ({
    id,
    label,
    region,
    status,
  }));
}

/** `GET/POST /service-keys`, `DELETE /service-keys/:id`, and the connections to pick from. */
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

  connections(errors: ErrorHandling = 'quiet'): Observable<ConnectionChoice[]> {
    return this.http
      .get<
        ConnectionDto[] | { items?: ConnectionDto[] }
      >(`${API_PREFIX}/connections`, handleErrors(errors))
      .pipe(map(connectionsOf));
  }
}
