import { Controller, Get, Req, Res } from '@nestjs/common';
import { ApiCookieAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SESSION_COOKIE } from '../auth/session.service';
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
    summary: 'Server-sent events: connection.changed, connection.removed, audit.appended',
    description: 'Each `data:` line is one JSON ServerEventDto; a `: ping` comment every 15 s.',
  })
  @ApiOkResponse({ description: 'text/event-stream' })
  stream(@Req() request: FastifyRequest, @Res() reply: FastifyReply): void {
    // Written by hand on the raw response: headers for proxies, heartbeats, and a clean end.
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-request-id': String(request.id),
    });
    response.write('retry: 3000\n\n');
    const subscription = this.events.stream().subscribe({
      next: (event) => response.write(`data: ${JSON.stringify(event)}\n\n`),
      complete: () => response.end(),
    });
    const heartbeat = setInterval(() => response.write(': ping\n\n'), HEARTBEAT_MS);
    request.raw.on('close', () => {
      clearInterval(heartbeat);
      subscription.unsubscribe();
    });
  }
}
