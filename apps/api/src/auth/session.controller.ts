import { Body, Controller, Delete, Get, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
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
import { Throttle, ThrottlerGuard } from '@nestjs/throttler';
import type { LoginRequest, SessionDto } from '@keeper/contracts';
import { IsString, MaxLength, MinLength } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { AdminSession, CorrelationId, KeeperRequest, Public } from './access.decorators';
import { ActiveSession, SESSION_COOKIE, SESSION_LIFETIME_MS, SessionService } from './session.service';

class LoginBody implements LoginRequest {
  @ApiProperty({ example: 'the admin password', format: 'password' })
  @IsString()
  @MinLength(1)
  @MaxLength(256)
  password!: string;
}

/** Five wrong guesses a minute per address, then 429 with Retry-After. */
export const LOGIN_ATTEMPTS_PER_MINUTE = 5;

@ApiTags('session')
@Controller('session')
export class SessionController {
  constructor(private readonly sessions: SessionService) {}

  @Post()
  @Public()
  @UseGuards(ThrottlerGuard)
  @Throttle({ default: { limit: LOGIN_ATTEMPTS_PER_MINUTE, ttl: 60_000 } })
  @ApiOperation({ summary: 'Log the admin in: sets an httpOnly, SameSite=Strict session cookie' })
  @ApiOkResponse({ description: 'Logged in', schema: { example: { authenticated: true, expiresAt: '2026-11-24T15:00:00.000Z' } } })
  @ApiUnauthorizedResponse({ description: 'Wrong password (audited as login_failed)' })
  @ApiTooManyRequestsResponse({ description: 'Too many attempts from this address; see Retry-After' })
  async login(
    @Body() body: LoginBody,
    @Req() request: KeeperRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CorrelationId() correlationId: string,
  ): Promise<SessionDto> {
    const session = await this.sessions.login(body.password, { ip: request.ip, correlationId });
    void reply.setCookie(SESSION_COOKIE, session.cookieValue, {
      httpOnly: true,
      sameSite: 'strict',
      secure: request.protocol === 'https',
      path: '/',
      maxAge: SESSION_LIFETIME_MS / 1000,
    });
    return { authenticated: true, expiresAt: session.expiresAt.toISOString() };
  }

  @Get()
  @Public()
  @ApiOperation({ summary: 'Whether this browser is logged in' })
  @ApiOkResponse({ schema: { example: { authenticated: false, expiresAt: null } } })
  async current(@Req() request: KeeperRequest): Promise<SessionDto> {
    const session = await this.sessions.resolve(request.cookies?.[SESSION_COOKIE]);
    return { authenticated: session !== undefined, expiresAt: session?.expiresAt.toISOString() ?? null };
  }

  @Delete()
  @HttpCode(204)
  @ApiCookieAuth(SESSION_COOKIE)
  @ApiOperation({ summary: 'Log out: the session is deleted and its cookie cleared' })
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
