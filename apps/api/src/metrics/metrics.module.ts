import { Global, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { AdsProxyMetrics } from './ads-proxy.metrics';
import { DatabaseStats } from './database-stats';
import { DatabaseMetrics } from './database.metrics';
import { HttpMetrics, instrumentHttp } from './http.metrics';
import { MetricsController } from './metrics.controller';
import { MetricsRegistry } from './metrics.registry';
import { MetricsService } from './metrics.service';
import { RefreshMetrics } from './refresh.metrics';

/**
 * `GET /metrics` and the metrics other modules record into (`RefreshMetrics`). Needs the
 * global `Database`, `KeyRing`, `KeyUsageService` and
 * `ConnectionsRepository`. HTTP requests are counted without any call from
 * `createHttpApp`: the `onResponse` hook is added as soon as the Fastify instance is known.
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [
    MetricsRegistry,
    HttpMetrics,
    RefreshMetrics,
    AdsProxyMetrics,
    DatabaseStats,
    DatabaseMetrics,
    MetricsService,
  ],
  exports: [RefreshMetrics, HttpMetrics, AdsProxyMetrics, DatabaseStats],
})
export class MetricsModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly http: HttpMetrics,
  ) {
    // Here rather than only in onModuleInit: NestFactory.create() builds the modules before
    // createHttpApp registers its plugins (cookie, helmet, Swagger), and a hook on the root
    // instance reaches only plugins registered after it.
    this.instrument();
  }

  onModuleInit(): void {
    // Test.createTestingModule() builds the modules before the app (and its adapter) exists.
    this.instrument();
  }

  private instrument(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter?.getType() === 'fastify')
      instrumentHttp(adapter.getInstance<FastifyInstance>(), this.http);
  }
}
