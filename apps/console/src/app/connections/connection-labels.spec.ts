import { provideHttpClient } from '@angular/common/http';
import {
  HttpTestingController,
  provideHttpClientTesting,
} from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { aConnection } from '../../testing/fixtures';
import {
  ConnectionLabels,
  LABEL_REQUESTS_IN_FLIGHT,
} from './connection-labels';

describe(ConnectionLabels.name, () => {
  let labels: ConnectionLabels;
  let http: HttpTestingController;
  const acme = aConnection();
  const url = (id: string) => `/api/v1/connections/${id}`;

  beforeEach(() => {
    TestBed.configureTestingModule({
      providers: [provideHttpClient(), provideHttpClientTesting()],
    });
    labels = TestBed.inject(ConnectionLabels);
    http = TestBed.inject(HttpTestingController);
  });

  afterEach(() => http.verify());

  it('shows the id until the label arrives, then the label', () => {
    labels.load([acme.id]);
    expect(labels.labelOf(acme.id)).toBe(acme.id);

    http.expectOne(url(acme.id)).flush(acme);

    expect(labels.labelOf(acme.id)).toBe('Acme Outdoor (NA)');
  });

  it('asks once per id, however often and wherever it is wanted, and remembers it', () => {
    labels.load([acme.id, acme.id, null, undefined, '']);
    labels.load([acme.id]);
    http.expectOne(url(acme.id)).flush(acme);

    labels.load([acme.id]);
    http.expectNone(url(acme.id));
    expect(labels.labelOf(acme.id)).toBe('Acme Outdoor (NA)');
  });

  it('shows the id of a connection the API does not know (404), without asking again', () => {
    const unknown = '9a9a9a9a-0000-4000-8000-000000000000';
    labels.load([unknown]);
    http
      .expectOne(url(unknown))
      .flush(
        { statusCode: 404, error: 'Not Found', message: 'No such connection' },
        { status: 404, statusText: 'Not Found' },
      );

    expect(labels.labelOf(unknown)).toBe(unknown);
    labels.load([unknown]);
    http.expectNone(url(unknown));
  });

  it('asks again after a failure that is not a 404', () => {
    labels.load([acme.id]);
    http
      .expectOne(url(acme.id))
      .flush(null, { status: 503, statusText: 'Service Unavailable' });
    expect(labels.labelOf(acme.id)).toBe(acme.id);

    labels.load([acme.id]);
    http.expectOne(url(acme.id)).flush(acme);
    expect(labels.labelOf(acme.id)).toBe('Acme Outdoor (NA)');
  });

  it('keeps at most a few requests in flight', () => {
    const ids = Array.from(
      { length: LABEL_REQUESTS_IN_FLIGHT + 3 },
      (_, index) => `00000000-0000-4000-8000-00000000000${index}`,
    );
    labels.load(ids);

    const first = http.match((request) => request.url.startsWith(url('')));
    expect(first).toHaveLength(LABEL_REQUESTS_IN_FLIGHT);
    first[0].flush(aConnection({ id: ids[0], label: 'First' }));
    expect(
      http.match((request) => request.url.startsWith(url(''))),
    ).toHaveLength(1);
    expect(labels.labelOf(ids[0])).toBe('First');
  });

  it('takes labels learnt otherwise without asking', () => {
    labels.remember(acme.id, 'Acme renamed');
    labels.load([acme.id]);

    http.expectNone(url(acme.id));
    expect(labels.labelOf(acme.id)).toBe('Acme renamed');
  });
});
