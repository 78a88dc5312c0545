import { HttpClient } from '@angular/common/http';
import { inject, Injectable } from '@angular/core';
import type { SystemStatusDto } from '@keeper/contracts';
import { Observable } from 'rxjs';
import { API_PREFIX, ErrorHandling, handleErrors } from '../core/api';

export const SYSTEM_URL = `${API_PREFIX}/system`;

/** `GET /system`: readiness, keys and the refresh scheduler. */
@Injectable({ providedIn: 'root' })
export class SystemApi {
  private readonly http = inject(HttpClient);

  status(errors: ErrorHandling = 'toast'): Observable<SystemStatusDto> {
    return this.http.get<SystemStatusDto>(SYSTEM_URL, handleErrors(errors));
  }
}
