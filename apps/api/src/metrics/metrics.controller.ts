import { Controller, Get, Header, Inject, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { Public } from '../auth/access.decorators';
import { SecretDigest } from '../auth/secret-digest';
import { DomainError } from '../common/domain-errors';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { MetricsService } from './metrics.service';

export class MetricsTokenRequiredError extends DomainError {
  readonly httpStatus = 401;

  constructor() {
    super(
      '/metrics needs the metrics token: send it as "Authorization: Bearer <METRICS_TOKEN>".',
    );
  }
}

/**
 * At the root (`/metrics`, outside the `api/v1` prefix), where scrapers look; no session needed.
 * With `METRICS_TOKEN` set, a scraper must send it as a bearer token (compared in constant time
 * on digests, like the service keys); without it, `/metrics` is public (see the README).
 */
@ApiTags('operations')
@Public()
@Controller('metrics')
export class MetricsController {
  private readonly digest = new SecretDigest(
    randomBytes(32).toString('hex'),
    'metrics-token',
  );
  private readonly expected: Buffer | undefined;

  constructor(
    private readonly metrics: MetricsService,
    // Required: were the configuration ever missing, /metrics must not fall open.
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'metricsToken'>,
  ) {
    this.expected = config.metricsToken
      ? this.digest.digest(config.metricsToken)
      : undefined;
  }

  @Get()
  @Header('Cache-Control', 'no-store')
  @ApiBearerAuth()
  @ApiOperation({
    summary:
      'Prometheus metrics: HTTP, refresh outcomes and latency, connections by status, rows per key id',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'Prometheus text exposition format 0.0.4',
    type: String,
  })
  @ApiUnauthorizedResponse({
    description:
      'METRICS_TOKEN is set and the request does not carry it as a bearer token',
  })
  async scrape(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    if (this.expected && !this.authorized(request.headers.authorization)) {
      void reply.header('www-authenticate', 'Bearer realm="metrics"');
      throw new MetricsTokenRequiredError();
    }
    reply.type(this.metrics.contentType);
    return this.metrics.scrape();
  }

  private authorized(authorization: string | undefined): boolean {
    const match = /^Bearer ([\x21-\x7e]{1,512})$/i.exec(authorization ?? '');
    return (
      match !== null && this.digest.matches(match[1], this.expected as Buffer)
    );
  }
}
