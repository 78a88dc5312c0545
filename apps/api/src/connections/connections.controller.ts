import {
  Body,
  Controller,
  Delete,
  Get,
  Param,
  ParseUUIDPipe,
  Patch,
  Query,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCookieAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import {
  CONNECTION_PAGE_LIMITS,
  CONNECTION_STATUSES,
  REGIONS,
} from '@keeper/contracts';
import type {
  ConnectionDto,
  ConnectionPageDto,
  ConnectionSort,
  ConnectionStatus,
  Region,
  UpdateConnectionRequest,
} from '@keeper/contracts';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { CorrelationId } from '../auth/access.decorators';
import { SESSION_COOKIE } from '../auth/session.service';
import { CONNECTION_EXAMPLE } from './connection.example';
import {
  CONNECTION_SORTS,
  encodeCursor,
  MAX_CURSOR_LENGTH,
} from './connection-page';
import { ConnectionListQuery, ConnectionsService } from './connections.service';

/** No control character, no lone surrogate (see the label's rule below). */
const PLAIN_TEXT = /^[^\p{Cc}\p{Cs}]*$/u;

/** `?status=a&status=b` arrives as an array, `?status=a` as a string: always a list here. */
const asList = ({ value }: { value: unknown }): unknown =>
  value === undefined || Array.isArray(value) ? value : [value];

const LIMIT_MESSAGE = `limit must be a whole number from 1 to ${CONNECTION_PAGE_LIMITS.max}`;

class ConnectionsQuery implements ConnectionListQuery {
  @ApiPropertyOptional({
    enum: CONNECTION_STATUSES,
    isArray: true,
    description: 'Repeat for any of several (`?status=active&status=degraded`)',
  })
  @IsOptional()
  @Transform(asList)
  // A duplicate is harmless (any of them), ten thousand of them are not a filter.
  @ArrayMaxSize(20, { message: 'status may be given at most 20 times' })
  @IsIn(CONNECTION_STATUSES, {
    each: true,
    message: `status must be one of ${CONNECTION_STATUSES.join(', ')}`,
  })
  status?: ConnectionStatus[];

  @ApiPropertyOptional({
    enum: REGIONS,
    isArray: true,
    description: 'Repeat for any of several (`?region=na&region=eu`)',
  })
  @IsOptional()
  @Transform(asList)
  @ArrayMaxSize(20, { message: 'region may be given at most 20 times' })
  @IsIn(REGIONS, {
    each: true,
    message: `region must be one of ${REGIONS.join(', ')}`,
  })
  region?: Region[];

  @ApiPropertyOptional({
    description:
      'Text to find (case-insensitive, anywhere) in the label, Amazon account ids, profile ids and profile account names; `%` and `_` are plain characters',
    minLength: 1,
    maxLength: 200,
    example: 'acme',
  })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  @IsString({ message: 'q must be given once, as text' })
  @Length(1, 200, { message: 'q must be 1 to 200 characters (trimmed)' })
  @Matches(PLAIN_TEXT, {
    message: 'q must be plain text, without control characters',
  })
  q?: string;

  @ApiPropertyOptional({
    enum: CONNECTION_SORTS,
    default: 'created',
    description:
      '`created` (oldest first), `expiry` (soonest first, no token last), `label` (case-insensitive), `status` (active, degraded, needs_reauth, disconnected); a leading `-` reverses it. Ties are broken by id.',
  })
  @IsOptional()
  @IsIn(CONNECTION_SORTS, {
    message: `sort must be one of ${CONNECTION_SORTS.join(', ')}`,
  })
  sort?: ConnectionSort;

  @ApiPropertyOptional({
    description:
      'The `nextCursor` of the previous page, with the same sort (and the same filters)',
    example: encodeCursor('created', {
      key: '2026-11-20T09:30:00.000000Z',
      id: CONNECTION_EXAMPLE.id,
    }),
  })
  @IsOptional()
  @IsString({ message: 'cursor must be given once' })
  @MaxLength(MAX_CURSOR_LENGTH, {
    message: 'cursor must be the nextCursor of a previous page, unchanged',
  })
  cursor?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: CONNECTION_PAGE_LIMITS.max,
    default: CONNECTION_PAGE_LIMITS.default,
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: LIMIT_MESSAGE })
  @Min(1, { message: LIMIT_MESSAGE })
  @Max(CONNECTION_PAGE_LIMITS.max, { message: LIMIT_MESSAGE })
  limit?: number;
}

const PAGE_EXAMPLE: ConnectionPageDto = {
  items: [CONNECTION_EXAMPLE],
  nextCursor: encodeCursor('created', {
    key: '2026-11-20T09:30:00.000000Z',
    id: CONNECTION_EXAMPLE.id,
  }),
  counts: {
    active: 98_412,
    degraded: 37,
    needs_reauth: 211,
    disconnected: 1_340,
    total: 100_000,
  },
};

class UpdateConnectionBody implements UpdateConnectionRequest {
  @ApiProperty({ example: 'Acme Outdoor (NA)', minLength: 1, maxLength: 100 })
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @Length(1, 100, { message: 'label must be 1 to 100 characters' })
  // PostgreSQL refuses NUL in text and a lone surrogate in jsonb (the audit row): both were a 500.
  @Matches(PLAIN_TEXT, {
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
  @ApiOperation({
    summary:
      'A page of connections (never a token), and the counts by status over all of them',
    description:
      'Pass `nextCursor` as `cursor`, with the same sort and filters, for the next page; it is null on the last one. `counts` ignores every filter.',
  })
  @ApiOkResponse({ schema: { example: PAGE_EXAMPLE } })
  @ApiBadRequestResponse({
    description:
      'A parameter out of range, unknown or repeated where it may not be, or a cursor this sort did not give',
  })
  list(@Query() query: ConnectionsQuery): Promise<ConnectionPageDto> {
    return this.connections.list(query);
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
