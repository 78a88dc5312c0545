import {
  Controller,
  Get,
  Inject,
  Logger,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiCookieAuth,
  ApiFoundResponse,
  ApiOperation,
  ApiProperty,
  ApiSeeOtherResponse,
  ApiTags,
} from '@nestjs/swagger';
import { REGIONS } from '@keeper/contracts';
import type { Region } from '@keeper/contracts';
import { IsIn } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { API_PREFIX } from '../common/api-prefix';
import {
  AdminSession,
  CorrelationId,
  KeeperRequest,
  Public,
} from '../auth/access.decorators';
import {
  AmazonConnectService,
  ConnectResult,
  OAUTH_STATE_LIFETIME_MS,
} from './amazon-connect.service';
import { SESSION_COOKIE } from '../auth/session.service';
import { CONNECT_LINK_PATH } from './connect-links.service';
import {
  LINK_BINDING_COOKIE,
  LINK_BINDING_PATH,
} from './owner-link.controller';
import type { ActiveSession } from '../auth/session.service';

/** Carries the browser binding from `start` to `callback` (SameSite=Lax: it survives Amazon's redirect). */
export const OAUTH_BINDING_COOKIE = 'atk_oauth';
const CALLBACK_PATH = `/${API_PREFIX}/auth/amazon/callback`;

class StartQuery {
  @ApiProperty({
    enum: REGIONS,
    example: 'na',
    description: 'na: North America, eu: Europe, fe: Far East',
  })
  @IsIn(REGIONS, { message: `region must be one of ${REGIONS.join(', ')}` })
  region!: Region;
}

@ApiTags('amazon connect')
@Controller('auth/amazon')
export class AmazonConnectController {
  private readonly logger = new Logger(AmazonConnectController.name);

  constructor(
    private readonly connect: AmazonConnectService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('start')
  @ApiCookieAuth(SESSION_COOKIE)
  @ApiOperation({
    summary:
      "Send the admin's browser to Amazon's consent page for a region (PKCE S256, single-use state)",
  })
  @ApiFoundResponse({
    description:
      'Location: the consent page with client_id, scope, response_type=code, redirect_uri, state, code_challenge',
  })
  async start(
    @Query() query: StartQuery,
    @AdminSession() session: ActiveSession,
    @Req() request: KeeperRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    // The guard lets only an admin session through (start is not @Public).
    const started = await this.connect.start(query.region, session.idHash);
    void reply
      .setCookie(OAUTH_BINDING_COOKIE, started.browserBinding, {
        httpOnly: true,
        sameSite: 'lax',
        secure: request.protocol === 'https',
        path: CALLBACK_PATH,
        maxAge: OAUTH_STATE_LIFETIME_MS / 1000,
      })
      .header('cache-control', 'no-store')
      .redirect(started.authorizationUrl, 302);
  }

  @Get('callback')
  @Public()
  @ApiOperation({
    summary:
      "Amazon's redirect back: checks the state, exchanges the code, stores the tokens encrypted, finds the Ads profiles",
    description:
      'Always answers 303 to the console (`/connections?connect=<outcome>`), never an error page and never a token in a URL.',
  })
  @ApiSeeOtherResponse({
    description:
      'Location: the console, with connect=connected|reconnected|access_denied|state_invalid|state_expired|amazon_error',
  })
  async callback(
    @Query() query: Record<string, unknown>,
    @Req() request: KeeperRequest,
    @Res() reply: FastifyReply,
    @CorrelationId() correlationId: string,
  ): Promise<void> {
    const binding = request.cookies?.[OAUTH_BINDING_COOKIE];
    // An account owner's consent from a connect link is bound by a cookie of its own.
    const linkBinding = request.cookies?.[LINK_BINDING_COOKIE];
    let result: ConnectResult;
    let keepBinding = true;
    let keepLinkBinding = true;
    try {
      result = await this.connect.complete(
        query,
        [binding, linkBinding],
        correlationId,
      );
      // Spent only when no other consent of this browser (another tab) still needs it.
      keepBinding = await this.connect.bindingStillNeeded(binding);
      keepLinkBinding = await this.connect.bindingStillNeeded(linkBinding);
    } catch (error) {
      // The admin's browser is mid-flow: it gets a way back, never a 5xx page.
      this.logger.error(
        { err: error, correlationId },
        'The Amazon callback failed',
      );
      result = {
        outcome: 'amazon_error',
        reason: 'Something went wrong on our side; try again in a minute.',
      };
    }
    let target: URL;
    if (result.linkId) {
      // The owner has no console: the link's own done page, which echoes nothing but the outcome.
      target = new URL(
        `${CONNECT_LINK_PATH}/done`,
        new URL(this.config.amazon.redirectUri).origin,
      );
      target.searchParams.set('outcome', result.outcome);
    } else {
      target = new URL('/connections', this.config.consoleUrl);
      target.searchParams.set('connect', result.outcome);
      if (result.connectionId)
        target.searchParams.set('connectionId', result.connectionId);
      if (result.reason) target.searchParams.set('reason', result.reason);
    }
    if (binding !== undefined && !keepBinding)
      void reply.clearCookie(OAUTH_BINDING_COOKIE, { path: CALLBACK_PATH });
    if (linkBinding !== undefined && !keepLinkBinding)
      void reply.clearCookie(LINK_BINDING_COOKIE, { path: LINK_BINDING_PATH });
    void reply
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .redirect(target.toString(), 303);
  }
}
