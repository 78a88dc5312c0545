import { Controller, Get, Header, Param, ParseUUIDPipe } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { AccessTokenDto } from '@keeper/contracts';
import {
  CorrelationId,
  ServiceKey,
  ServiceKeyOnly,
} from '../auth/access.decorators';
import { mayReadConnection, ServiceKeyCaller } from '../auth/service-key-index';
import { unknownConnection } from './unknown-connection';
import { AccessTokenService } from './access-token.service';

@ApiTags('access tokens (for jobs)')
@ApiBearerAuth()
@Controller('connections')
export class AccessTokenController {
  constructor(private readonly tokens: AccessTokenService) {}

  @Get(':id/access-token')
  @ServiceKeyOnly()
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary: 'A valid access token for the Amazon Ads API (service API key)',
    description:
      'Refreshed first when it expires within REFRESH_WINDOW_SECONDS; concurrent callers share one refresh. ' +
      'Send it to Amazon as `Authorization: Bearer <accessToken>` with `Amazon-Advertising-API-ClientId`.',
  })
  @ApiOkResponse({
    schema: {
      example: {
        accessToken: 'Atza|IwEBI…',
        tokenType: 'bearer',
        expiresAt: '2026-11-24T15:00:00.000Z',
      },
    },
  })
  @ApiNotFoundResponse({
    description:
      'No such connection, or one the key is not allowed (the same answer for both)',
  })
  @ApiConflictResponse({
    description: 'The connection needs a new consent or was disconnected',
  })
  accessToken(
    @Param('id', new ParseUUIDPipe({ errorHttpStatusCode: 400 })) id: string,
    @CorrelationId() correlationId: string,
    @ServiceKey() key: ServiceKeyCaller | undefined,
  ): Promise<AccessTokenDto> {
    // Before any read or refresh: a connection outside the key's set is, to it, no connection.
    if (key && !mayReadConnection(key, id)) throw unknownConnection(id);
    return this.tokens.accessToken(
      id,
      correlationId,
      key && `service:${key.id}`,
    );
  }
}
