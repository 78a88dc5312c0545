import { Controller, Get, Header, Param, ParseUUIDPipe } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { AccessTokenDto } from '@keeper/contracts';
import { CorrelationId, ServiceKeyOnly } from '../auth/access.decorators';
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
  @ApiConflictResponse({
    description: 'The connection needs a new consent or was disconnected',
  })
  accessToken(
    @Param('id', new ParseUUIDPipe({ errorHttpStatusCode: 400 })) id: string,
    @CorrelationId() correlationId: string,
  ): Promise<AccessTokenDto> {
    return this.tokens.accessToken(id, correlationId);
  }
}
