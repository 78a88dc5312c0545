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
  CONNECT_LINK_DEFAULT_HOURS,
  CONNECT_LINK_LABEL_MAX,
  CONNECT_LINK_MAX_HOURS,
  REGIONS,
  type ConnectLinkDto,
  type CreateConnectLinkRequest,
  type CreatedConnectLinkDto,
  type Region,
} from '@keeper/contracts';
import { Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { CorrelationId } from '../auth/access.decorators';
import { SESSION_COOKIE } from '../auth/session.service';
import { ConnectLinksService } from './connect-links.service';

class CreateConnectLinkBody implements CreateConnectLinkRequest {
  @ApiProperty({ enum: REGIONS, example: 'na' })
  @IsIn(REGIONS, { message: `region must be one of ${REGIONS.join(', ')}` })
  region!: Region;

  @ApiPropertyOptional({
    example: 'Acme Outdoor (EU)',
    maxLength: CONNECT_LINK_LABEL_MAX,
    nullable: true,
  })
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  @IsOptional()
  @IsString()
  @Length(0, CONNECT_LINK_LABEL_MAX, {
    message: `label must be at most ${CONNECT_LINK_LABEL_MAX} characters`,
  })
  @Matches(/^[^\p{Cc}\p{Cs}]*$/u, {
    message: 'label must be plain text, without control characters',
  })
  label?: string | null;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: CONNECT_LINK_MAX_HOURS,
    default: CONNECT_LINK_DEFAULT_HOURS,
  })
  @IsOptional()
  @IsInt({ message: 'expiresInHours must be a whole number of hours' })
  @Min(1, { message: 'expiresInHours must be at least 1' })
  @Max(CONNECT_LINK_MAX_HOURS, {
    message: `expiresInHours must be at most ${CONNECT_LINK_MAX_HOURS}`,
  })
  expiresInHours?: number;

  @ApiPropertyOptional({
    format: 'uuid',
    nullable: true,
    description:
      "A reconnect link: the owner's consent replaces this connection's tokens, only with the same Amazon account",
  })
  @IsOptional()
  @IsUUID('all', { message: 'connectionId must be a connection id (UUID)' })
  connectionId?: string | null;
}

const LINK_EXAMPLE: ConnectLinkDto = {
  id: '3a1f0c9e-5b7d-4e21-b6f4-2d1c9e8a7b60',
  region: 'eu',
  label: 'Acme Outdoor (EU)',
  connectionId: null,
  state: 'open',
  createdBy: 'admin',
  createdAt: '2026-11-24T14:00:00.000Z',
  expiresAt: '2026-11-27T14:00:00.000Z',
  usedAt: null,
  revokedAt: null,
  resultConnectionId: null,
};

const uuid = new ParseUUIDPipe({
  version: undefined,
  errorHttpStatusCode: 400,
});

@ApiTags('connect links')
@ApiCookieAuth(SESSION_COOKIE)
@Controller('connect-links')
export class ConnectLinksController {
  constructor(private readonly links: ConnectLinksService) {}

  @Get()
  @ApiOperation({
    summary:
      'Every link for account owners, newest first, with its state (never a secret)',
  })
  @ApiOkResponse({ schema: { example: [LINK_EXAMPLE] } })
  list(): Promise<ConnectLinkDto[]> {
    return this.links.list();
  }

  @Post()
  @Header('cache-control', 'no-store')
  @ApiOperation({
    summary:
      'Make a single-use link for an account owner (audited); the answer is the only time its URL is shown',
  })
  @ApiCreatedResponse({
    schema: {
      example: {
        ...LINK_EXAMPLE,
        url: 'https://keeper.example.com/api/v1/connect/3q2-7wEXAMPLEonlyEXAMPLEonlyEXAMPLEonlyEXAM',
      },
    },
  })
  @ApiBadRequestResponse({
    description:
      'A bad region, label or expiry, or a reconnect target that is not a live connection of that region',
  })
  create(
    @Body() body: CreateConnectLinkBody,
    @CorrelationId() correlationId: string,
  ): Promise<CreatedConnectLinkDto> {
    return this.links.create(body, correlationId);
  }

  @Delete(':id')
  @ApiOperation({
    summary:
      'Revoke (audited): its page refuses at once; the row is kept. Again: no change',
  })
  @ApiOkResponse({
    schema: {
      example: {
        ...LINK_EXAMPLE,
        state: 'revoked',
        revokedAt: '2026-11-25T09:00:00.000Z',
      },
    },
  })
  @ApiNotFoundResponse({ description: 'No such link' })
  revoke(
    @Param('id', uuid) id: string,
    @CorrelationId() correlationId: string,
  ): Promise<ConnectLinkDto> {
    return this.links.revoke(id, correlationId);
  }
}
