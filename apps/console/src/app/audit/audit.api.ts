import { HttpClient, HttpParams } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import type { AuditEventPageDto, AuditEventType } from '@keeper/contracts';
import { Observable } from 'rxjs';
import { API_PREFIX, ErrorHandling, handleErrors } from '../core/api';

export const AUDIT_EVENTS_URL = `${API_PREFIX}/audit-events`;

export interface AuditQuery {
  connectionId?: string | null;
  type?: AuditEventType | null;
  /** The `nextCursor` of the page before. */
  before?: string | null;
  limit: number;
}

/** `GET /audit-events`: newest first, a page at a time. */
@Injectable({ providedIn: 'root' })
export class AuditApi {
  private readonly http = inject(HttpClient);

  page(
    query: AuditQuery,
    errors: ErrorHandling = 'toast',
  ): Observable<AuditEventPageDto> {
    let params = new HttpParams().set('limit', query.limit);
    if (query.connectionId)
      params = params.set('connectionId', query.connectionId);
    if (query.type) params = params.set('type', query.type);
    if (query.before) params = params.set('before', query.before);
    return this.http.get<AuditEventPageDto>(AUDIT_EVENTS_URL, {
      params,
      ...handleErrors(errors),
    });
  }
}
