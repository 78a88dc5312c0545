import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  Param,
  ParseUUIDPipe,
  Post,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import {
  SERVICE_KEY_MAX_CONNECTIONS,
  SERVICE_KEY_NAME_MAX,
  type CreatedServiceKeyDto,
  type CreateServiceKeyRequest,
  type ServiceKeyDto,
} from '@keeper/contracts';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
} from 'class-validator';
import { CorrelationId } from '../auth/access.decorators';
import { SESSION_COOKIE } from '../auth/session.service';
import { ServiceKeysService } from './service-keys.service';

class CreateServiceKeyBody implements CreateServiceKeyRequest {
  @ApiProperty({
    example: 'Nightly reports',
    minLength: 1,
    maxLength: SERVICE_KEY_NAME_MAX,
  })
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @Length(1, SERVICE_KEY_NAME_MAX, {
    message: `name must be 1 to ${SERVICE_KEY_NAME_MAX} characters`,
  })
  // PostgreSQL refuses NUL in text and a lone surrogate in jsonb (the audit row).
  @Matches(/^[^\p{Cc}\p{Cs}]*$/u, {
    message: 'name must be plain text, without control characters',
  })
  name!: string;

  @ApiPropertyOptional({
    description:
      'The connections the key may read; left out or null for every connection. Duplicates count once.',
    type: [String],
    format: 'uuid',
    maxItems: SERVICE_KEY_MAX_CONNECTIONS,
    nullable: true,
  })
  @IsOptional()
  @IsArray({ message: 'connectionIds must be a list of connection ids' })
  @ArrayMinSize(1, {
    message:
      'connectionIds must name at least one connection (leave it out for every connection)',
  })
  @ArrayMaxSize(SERVICE_KEY_MAX_CONNECTIONS, {
    message: `connectionIds may name at most ${SERVICE_KEY_MAX_CONNECTIONS} connections`,
  })
  @IsUUID('all', {
    each: true,
    message: 'connectionIds must hold connection ids (UUIDs) only',
  })
  connectionIds?: string[] | null;
}

const KEY_EXAMPLE: ServiceKeyDto = {
  id: '0b9c3f5e-8a7d-4e21-b6f4-2d1c9e8a7b60',
  name: 'Nightly reports',
  connectionIds: ['6f1c2a7e-3d0b-4f5e-9a41-2b8c7d9e0f12'],
  createdAt: '2026-11-24T14:00:00.000Z',
  lastUsedAt: null,
  revokedAt: null,
};

const uuid = new ParseUUIDPipe({
  version: undefined,
  errorHttpStatusCode: 400,
});

@ApiTags('service keys')
@ApiCookieAuth(SESSION_COOKIE)
@Controller('service-keys')
export class ServiceKeysController {
  constructor(private readonly keys: ServiceKeysService) {}

  @Get()
  @ApiOperation({
    summary: 'Every key for jobs, newest first, revoked ones too (never a key)',
  })
  @ApiOkResponse({ schema: { example: [KEY_EXAMPLE] } })
  list(): Promise<ServiceKeyDto[]> {
    return this.keys.list();
  }

  @Post()
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary:
      'Make a key for jobs (audited); the answer is the only time the key is shown',
  })
  @ApiCreatedResponse({
    schema: {
      example: {
        ...KEY_EXAMPLE,
        key: 'atk_3q2-7wEXAMPLEonlyEXAMPLEonlyEXAMPLEonlyEXAM',
      },
    },
  })
  @ApiBadRequestResponse({
    description: 'A bad name, or connection ids that are malformed or unknown',
  })
  create(
    @Body() body: CreateServiceKeyBody,
    @CorrelationId() correlationId: string,
  ): Promise<CreatedServiceKeyDto> {
    return this.keys.create(body, { correlationId });
  }

  @Delete(':id')
  @ApiOperation({
    summary:
      'Revoke (audited): refused on every replica within a second; the row is kept. Again: no change',
  })
  @ApiOkResponse({
    schema: {
      example: { ...KEY_EXAMPLE, revokedAt: '2026-11-25T09:00:00.000Z' },
    },
  })
  @ApiNotFoundResponse({ description: 'No such key' })
  revoke(
    @Param('id', uuid) id: string,
    @CorrelationId() correlationId: string,
  ): Promise<ServiceKeyDto> {
    return this.keys.revoke(id, { correlationId });
  }
}
