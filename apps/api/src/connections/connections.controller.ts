import {
  Body,
  Controller,
  Delete,
  Get,
  Param,
  ParseUUIDPipe,
  Patch,
} from '@nestjs/common';
import {
  ApiCookieAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import type { ConnectionDto, UpdateConnectionRequest } from '@keeper/contracts';
import { Transform } from 'class-transformer';
import { IsString, Length, Matches } from 'class-validator';
import { CorrelationId } from '../auth/access.decorators';
import { SESSION_COOKIE } from '../auth/session.service';
import { CONNECTION_EXAMPLE } from './connection.example';
import { ConnectionsService } from './connections.service';

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
  constructor(private readonly connections: ConnectionsService) {}

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
