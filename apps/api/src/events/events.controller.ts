import { Controller, Get, Req, Res } from '@nestjs/common';
import {
  ApiCookieAuth,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AdminSession } from '../auth/access.decorators';
import { ActiveSession, SESSION_COOKIE } from '../auth/session.service';
import { EventsService } from './events.service';

/** A comment line this often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

@ApiTags('live events')
@ApiCookieAuth(SESSION_COOKIE)
@Controller('events')
export class EventsController {
  constructor(private readonly events: EventsService) {}

  @Get()
  @ApiOperation({
    summary:
      'Server-sent events: connection.changed, connection.removed, audit.appended',
    description:
      'Each `data:` line is one JSON ServerEventDto; a `: ping` comment every 15 s. The stream ends when its ' +
      'session does (logout, expiry, idle timeout); an open stream does not keep the session alive.',
  })
  @ApiOkResponse({ description: 'text/event-stream' })
  stream(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @AdminSession() session: ActiveSession,
  ): void {
    // Written by hand on the raw response: headers for proxies, heartbeats, and a clean end.
    // The headers the hooks set (security headers, x-request-id) are copied over: hijack()
    // leaves them unsent.
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': String(request.id),
    });
    response.write('retry: 3000\n\n');
    const subscription = this.events.stream(session.idHash).subscribe({
      next: (event) => response.write(`data: ${JSON.stringify(event)}\n\n`),
      complete: () => response.end(),
    });
    const heartbeat = setInterval(
      () => response.write(': ping\n\n'),
      HEARTBEAT_MS,
    );
    request.raw.on('close', () => {
      clearInterval(heartbeat);
      subscription.unsubscribe();
    });
  }
}
