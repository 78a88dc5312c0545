import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiCookieAuth,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { LoginRequest, SessionDto } from '@keeper/contracts';
import { IsString, MaxLength, MinLength } from 'class-validator';
import type { FastifyReply } from 'fastify';
import {
  AdminSession,
  CorrelationId,
  KeeperRequest,
  Public,
} from './access.decorators';
import { WrongPasswordError } from './auth.errors';
import {
  KNOWN_DEVICE_COOKIE,
  KNOWN_DEVICE_COOKIE_PATH,
  KNOWN_DEVICE_LIFETIME_MS,
  LoginLimiter,
  Reservation,
  TooManyLoginAttemptsError,
} from './login-limiter';
import {
  ActiveSession,
  SESSION_COOKIE,
  SESSION_LIFETIME_MS,
  SessionService,
} from './session.service';

class LoginBody implements LoginRequest {
  @ApiProperty({ example: 'the admin password', format: 'password' })
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  password!: string;
}

@ApiTags('session')
@Controller('session')
export class SessionController {
  constructor(
    private readonly sessions: SessionService,
    private readonly limiter: LoginLimiter,
  ) {}

  @Post()
  @Public()
  @ApiOperation({
    summary:
      'Log the admin in: sets an httpOnly, SameSite=Strict session cookie',
  })
  @ApiOkResponse({
    description: 'Logged in',
    schema: {
      example: { authenticated: true, expiresAt: '2026-11-24T15:00:00.000Z' },
    },
  })
  @ApiUnauthorizedResponse({
    description: 'Wrong password (audited as login_failed)',
  })
  @ApiTooManyRequestsResponse({
    description:
      'Too many failed attempts from this address, browser or for the account; see Retry-After',
  })
  async login(
    @Body() body: LoginBody,
    @Req() request: KeeperRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CorrelationId() correlationId: string,
  ): Promise<SessionDto> {
    // The address the limits count is the one the audit records.
    const address = request.ip;
    let reservation: Reservation;
    try {
      reservation = await this.limiter.reserve({
        address,
        deviceCookie: request.cookies?.[KNOWN_DEVICE_COOKIE],
      });
    } catch (error) {
      if (error instanceof TooManyLoginAttemptsError)
        void reply.header('retry-after', String(error.retryAfterSeconds));
      throw error;
    }
    let session: Awaited<ReturnType<SessionService['login']>>;
    try {
      session = await this.sessions.login(body.password, {
        ip: address,
        correlationId,
      });
    } catch (error) {
      // Only a wrong password counts against the limits.
      if (!(error instanceof WrongPasswordError))
        await this.limiter.refund(reservation).catch(() => undefined);
      throw error;
    }
    await this.limiter.refund(reservation);
    const secure = request.protocol === 'https';
    void reply.setCookie(SESSION_COOKIE, session.cookieValue, {
      httpOnly: true,
      sameSite: 'strict',
      secure,
      path: '/',
      maxAge: SESSION_LIFETIME_MS / 1000,
    });
    // Marks this browser as known: the account-wide limit does not stop it (see LoginLimiter).
    void reply.setCookie(
      KNOWN_DEVICE_COOKIE,
      this.limiter.issueDeviceCookie(),
      {
        httpOnly: true,
        sameSite: 'strict',
        secure,
        path: KNOWN_DEVICE_COOKIE_PATH,
        maxAge: KNOWN_DEVICE_LIFETIME_MS / 1000,
      },
    );
    return { authenticated: true, expiresAt: session.expiresAt.toISOString() };
  }

  @Get()
  @Public()
  @ApiOperation({ summary: 'Whether this browser is logged in' })
  @ApiOkResponse({
    schema: { example: { authenticated: false, expiresAt: null } },
  })
  async current(@Req() request: KeeperRequest): Promise<SessionDto> {
    const session = await this.sessions.resolve(
      request.cookies?.[SESSION_COOKIE],
    );
    return {
      authenticated: session !== undefined,
      expiresAt: session?.expiresAt.toISOString() ?? null,
    };
  }

  @Delete()
  @HttpCode(204)
  @ApiCookieAuth(SESSION_COOKIE)
  @ApiOperation({
    summary: 'Log out: the session is deleted and its cookie cleared',
  })
  @ApiNoContentResponse({ description: 'Logged out' })
  async logout(
    @AdminSession() session: ActiveSession,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CorrelationId() correlationId: string,
  ): Promise<void> {
    await this.sessions.logout(session, correlationId);
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
  }
}
