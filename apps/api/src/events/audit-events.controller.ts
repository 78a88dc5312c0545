import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiCookieAuth,
  ApiOkResponse,
  ApiOperation,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { AUDIT_EVENT_TYPES } from '@keeper/contracts';
import type { AuditEventPageDto, AuditEventType } from '@keeper/contracts';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsUUID,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { SESSION_COOKIE } from '../auth/session.service';
import { AuditLogReader } from './audit-log.reader';

class AuditEventsQuery {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID(undefined, { message: 'connectionId must be a UUID' })
  connectionId?: string;

  @ApiPropertyOptional({ enum: AUDIT_EVENT_TYPES })
  @IsOptional()
  @IsIn(AUDIT_EVENT_TYPES, {
    message: `type must be one of ${AUDIT_EVENT_TYPES.join(', ')}`,
  })
  type?: AuditEventType;

  @ApiPropertyOptional({
    description: 'The `nextCursor` of the previous page',
    example: '1042',
  })
  @IsOptional()
  @Matches(/^[1-9]\d{0,17}$/, {
    message: 'before must be a cursor from a previous page',
  })
  before?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number from 1 to 200' })
  @Min(1, { message: 'limit must be a whole number from 1 to 200' })
  @Max(200, { message: 'limit must be a whole number from 1 to 200' })
  limit?: number;
}

@ApiTags('audit')
@ApiCookieAuth(SESSION_COOKIE)
@Controller('audit-events')
export class AuditEventsController {
  constructor(private readonly auditLog: AuditLogReader) {}

  @Get()
  @ApiOperation({
    summary:
      'The audit log, newest first, a page at a time (pass nextCursor as before)',
  })
  @ApiOkResponse({
    schema: {
      example: {
        items: [
          {
            id: '1043',
            connectionId: '6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12',
            type: 'refreshed',
            actor: 'scheduler',
            correlationId: 'c0f3…',
            details: { durationMs: 212 },
            createdAt: '2026-11-24T14:00:00.000Z',
          },
        ],
        nextCursor: '1043',
      },
    },
  })
  list(@Query() query: AuditEventsQuery): Promise<AuditEventPageDto> {
    return this.auditLog.page({ ...query, limit: query.limit ?? 50 });
  }
}
