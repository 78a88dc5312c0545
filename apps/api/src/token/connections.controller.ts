import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
} from '@nestjs/common';
import {
  ApiCookieAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import type {
  ConnectionDto,
  RefreshResultDto,
  UpdateConnectionRequest,
} from '@keeper/contracts';
import { Transform } from 'class-transformer';
import { IsString, Length, Matches } from 'class-validator';
import { CorrelationId } from '../auth/access.decorators';
import { SESSION_COOKIE } from '../auth/session.service';
import { AccessTokenService } from './access-token.service';
import { ConnectionsService } from './connections.service';

const CONNECTION_EXAMPLE: ConnectionDto = {
  id: '6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12',
  label: 'Acme Outdoor (NA)',
  region: 'na',
  status: 'active',
  accessTokenExpiresAt: '2026-11-24T15:00:00.000Z',
  lastRefreshedAt: '2026-11-24T14:00:00.000Z',
  nextRefreshAt: '2026-11-24T14:55:00.000Z',
  failureCount: 0,
  lastError: null,
  profiles: [
    {
      profileId: '3421895712345678',
      countryCode: 'US',
      currencyCode: 'USD',
      timezone: 'America/Los_Angeles',
      marketplaceStringId: 'ATVPDKIKX0DER',
      accountId: 'A2EXAMPLE1234',
      accountName: 'Acme Outdoor',
      accountType: 'seller',
    },
  ],
  createdAt: '2026-11-20T09:30:00.000Z',
  updatedAt: '2026-11-24T14:00:00.000Z',
};

class UpdateConnectionBody implements UpdateConnectionRequest {
  @ApiProperty({ example: 'Acme Outdoor (NA)', minLength: 1, maxLength: 100 })
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @Length(1, 100, { message: 'label must be 1 to 100 characters' })
  // PostgreSQL refuses NUL in text and a lone surrogate in jsonb (the audit row): both were a 500.
  @Matches(/^[^\p{Cc}\p{Cs}]*$/u, {
    message: 'label must be plain text, without control characters',
  })
  label!: string;
}

const uuid = new ParseUUIDPipe({
  version: undefined,
  errorHttpStatusCode: 400,
});

@ApiTags('connections')
@ApiCookieAuth(SESSION_COOKIE)
@Controller('connections')
export class ConnectionsController {
  constructor(
    private readonly connections: ConnectionsService,
    private readonly tokens: AccessTokenService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Every connection, oldest first (never a token)' })
  @ApiOkResponse({ schema: { example: [CONNECTION_EXAMPLE] } })
  list(): Promise<ConnectionDto[]> {
    return this.connections.list();
  }

  @Get(':id')
  @ApiOperation({ summary: 'One connection' })
  @ApiOkResponse({ schema: { example: CONNECTION_EXAMPLE } })
  @ApiNotFoundResponse({ description: 'No such connection' })
  get(@Param('id', uuid) id: string): Promise<ConnectionDto> {
    return this.connections.get(id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Rename (audited as renamed)' })
  @ApiOkResponse({ schema: { example: CONNECTION_EXAMPLE } })
  rename(
    @Param('id', uuid) id: string,
    @Body() body: UpdateConnectionBody,
    @CorrelationId() correlationId: string,
  ): Promise<ConnectionDto> {
    return this.connections.rename(id, body.label, { correlationId });
  }

  @Post(':id/refresh')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Refresh now (audited as manual_refresh); answers the new expiry or the typed error',
  })
  @ApiOkResponse({
    schema: { example: { connection: CONNECTION_EXAMPLE, durationMs: 212 } },
  })
  refresh(
    @Param('id', uuid) id: string,
    @CorrelationId() correlationId: string,
  ): Promise<RefreshResultDto> {
    return this.tokens.refreshNow(id, correlationId);
  }

  @Delete(':id')
  @ApiOperation({
    summary:
      'Disconnect: the tokens are erased, the row and its audit trail kept',
  })
  @ApiOkResponse({
    schema: {
      example: {
        ...CONNECTION_EXAMPLE,
        status: 'disconnected',
        accessTokenExpiresAt: null,
        nextRefreshAt: null,
      },
    },
  })
  disconnect(
    @Param('id', uuid) id: string,
    @CorrelationId() correlationId: string,
  ): Promise<ConnectionDto> {
    return this.connections.disconnect(id, { correlationId });
  }
}
