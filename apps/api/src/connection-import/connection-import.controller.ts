import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiCookieAuth,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { IMPORT_FORMATS, IMPORT_LIMITS } from '@keeper/contracts';
import type {
  ConnectionImportRequest,
  ImportFormat,
  ImportSummaryDto,
} from '@keeper/contracts';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { CorrelationId } from '../auth/access.decorators';
import { SESSION_COOKIE } from '../auth/session.service';
import { ConnectionImporter } from './connection-importer';
import { parseImport } from './import-file';

/** The route whose body may be larger than the API's 64 KiB (see http-app.ts). */
export const IMPORT_ROUTE = { method: 'POST', path: 'connections/import' };

class ConnectionImportBody implements ConnectionImportRequest {
  @ApiProperty({ enum: IMPORT_FORMATS })
  @IsIn(IMPORT_FORMATS, {
    message: `format must be one of ${IMPORT_FORMATS.join(', ')}`,
  })
  format!: ImportFormat;

  @ApiProperty({
    description:
      'The file of `npm run import`, as text (README, "Import and export")',
    example: 'refresh_token,region,label\nAtzr|IwEB…,na,Acme Outdoor',
  })
  @IsString({ message: 'content must be a string' })
  content!: string;

  @ApiPropertyOptional({
    description:
      'The old Fernet key: the token column then holds Fernet ciphertexts. Never logged or answered.',
  })
  @IsOptional()
  @IsString({ message: 'fromKey must be a string' })
  @MaxLength(100, { message: 'fromKey is not a valid Fernet key' })
  fromKey?: string;
}

const SUMMARY_EXAMPLE: ImportSummaryDto = {
  lines: 3,
  imported: 1,
  skipped: 1,
  failed: 1,
  failures: [
    {
      line: 4,
      reason: 'Unknown region: the region must be one of na, eu, fe.',
    },
  ],
  skippedLines: [
    { line: 3, connectionId: '7d0f8a52-3f7e-4a36-9d55-0c7c0c6b3f11' },
  ],
};

@ApiTags('connections')
@ApiCookieAuth(SESSION_COOKIE)
@Controller('connections')
export class ConnectionImportController {
  constructor(private readonly importer: ConnectionImporter) {}

  @Post('import')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Import existing refresh tokens (what `npm run import` does): each proven by one refresh',
    description: `Lines that fail are answered with their number and reason (never a token); the others are imported. At most ${IMPORT_LIMITS.maxLines} lines, a body of at most ${IMPORT_LIMITS.maxBodyBytes / 1024 / 1024} MiB (413 beyond).`,
  })
  @ApiOkResponse({ schema: { example: SUMMARY_EXAMPLE } })
  @ApiBadRequestResponse({
    description:
      'The whole input is refused: its format, header, JSON, size, line count or key',
  })
  import(
    @Body() body: ConnectionImportBody,
    @CorrelationId() correlationId: string,
  ): Promise<ImportSummaryDto> {
    const parsed = parseImport(
      body.format,
      body.content,
      body.fromKey,
      'fromKey',
    );
    return this.importer.import(parsed, { actor: 'admin', correlationId });
  }
}
