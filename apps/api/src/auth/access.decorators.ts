import {
  createParamDecorator,
  ExecutionContext,
  SetMetadata,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { ServiceKeyCaller } from './service-key-index';
import type { ActiveSession } from './session.service';

/** Who may call a route. Routes without a decorator need an admin session. */
export type Access = 'admin' | 'service' | 'public';
export const ACCESS_METADATA = 'atk:access';

/** Anyone may call it (health checks, login, the OAuth callback). */
export const Public = () =>
  SetMetadata(ACCESS_METADATA, 'public' satisfies Access);

/** Downstream jobs with a service API key, not the admin. */
export const ServiceKeyOnly = () =>
  SetMetadata(ACCESS_METADATA, 'service' satisfies Access);

/** What the access guard found out about the caller. */
export interface CallerContext {
  adminSession?: ActiveSession;
  serviceKeyId?: string;
  /** The key's id and the connections it may read; only on service routes. */
  serviceKey?: ServiceKeyCaller;
}

export type KeeperRequest = FastifyRequest & CallerContext;

/** The request's correlation id (from `x-request-id` or made at arrival). */
export const CorrelationId = createParamDecorator(
  (_: unknown, context: ExecutionContext): string =>
    String(context.switchToHttp().getRequest<FastifyRequest>().id),
);

/** The admin session the guard resolved; only on admin routes. */
export const AdminSession = createParamDecorator(
  (_: unknown, context: ExecutionContext): ActiveSession | undefined =>
    context.switchToHttp().getRequest<KeeperRequest>().adminSession,
);

/** The service key the guard resolved; only on service routes. */
export const ServiceKey = createParamDecorator(
  (_: unknown, context: ExecutionContext): ServiceKeyCaller | undefined =>
    context.switchToHttp().getRequest<KeeperRequest>().serviceKey,
);
