import {
  Controller,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
} from '@nestjs/common';
import {
  ApiCookieAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { ConnectionDto, RefreshResultDto } from '@keeper/contracts';
import { CorrelationId } from '../auth/access.decorators';
import { SESSION_COOKIE } from '../auth/session.service';
import { CONNECTION_EXAMPLE } from '../connections/connection.example';
import { ProfilesRefreshService } from './profiles-refresh.service';
import { RefreshService } from './refresh.service';

@ApiTags('connections')
@ApiCookieAuth(SESSION_COOKIE)
@Controller('connections')
export class RefreshController {
  constructor(
    private readonly refresh: RefreshService,
    private readonly profiles: ProfilesRefreshService,
  ) {}

  @Post(':id/refresh')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Refresh now (audited as manual_refresh); answers the new expiry or the typed error',
  })
  @ApiOkResponse({
    schema: { example: { connection: CONNECTION_EXAMPLE, durationMs: 212 } },
  })
  refreshNow(
    @Param('id', new ParseUUIDPipe({ errorHttpStatusCode: 400 })) id: string,
    @CorrelationId() correlationId: string,
  ): Promise<RefreshResultDto> {
    return this.refresh.refreshByAdmin(id, correlationId);
  }

  @Post(':id/profiles/refresh')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Refresh profiles: reads the Ads profiles and DSP advertisers from Amazon now (audited as profiles_read); answers the connection',
  })
  @ApiOkResponse({ schema: { example: CONNECTION_EXAMPLE } })
  refreshProfiles(
    @Param('id', new ParseUUIDPipe({ errorHttpStatusCode: 400 })) id: string,
    @CorrelationId() correlationId: string,
  ): Promise<ConnectionDto> {
    return this.profiles.readByAdmin(id, correlationId);
  }
}
