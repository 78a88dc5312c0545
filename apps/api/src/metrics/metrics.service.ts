import { Injectable } from '@nestjs/common';
import { DatabaseMetrics } from './database.metrics';
import { MetricsRegistry } from './metrics.registry';

/** One scrape: the database pinged and its gauges set from the background counts, then every metric in Prometheus text format. */
@Injectable()
export class MetricsService {
  private scraping: Promise<string> | undefined;

  constructor(
    private readonly metrics: MetricsRegistry,
    private readonly database: DatabaseMetrics,
  ) {}

  get contentType(): string {
    return this.metrics.contentType;
  }

  /** Scrapes that arrive while one runs share its result (one database read, not one per scraper). */
  scrape(): Promise<string> {
    this.scraping ??= this.render().finally(() => {
      this.scraping = undefined;
    });
    return this.scraping;
  }

  private async render(): Promise<string> {
    await this.database.collect();
    return this.metrics.registry.metrics();
  }
}
