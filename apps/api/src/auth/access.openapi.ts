import type { INestApplication } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import type { OpenAPIObject } from '@nestjs/swagger';
import { Access, ACCESS_METADATA } from './access.decorators';
import { SESSION_COOKIE } from './session.service';

/** The OpenAPI security scheme names; Swagger UI's "Authorize" dialog shows them. */
export const SESSION_SCHEME = 'session';
export const SERVICE_KEY_SCHEME = 'serviceKey';

const SECURITY: Record<Access, Record<string, string[]>[] | undefined> = {
  admin: [{ [SESSION_SCHEME]: [] }],
  service: [{ [SERVICE_KEY_SCHEME]: [] }],
  public: undefined,
};

/** Who may call each controller method, keyed as Swagger's default operation id (`Class_method`). */
function accessByOperationId(app: INestApplication): Map<string, Access> {
  const access = new Map<string, Access>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const { metatype } of module.controllers.values()) {
      if (typeof metatype !== 'function') continue;
      const prototype = metatype.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = Object.getOwnPropertyDescriptor(prototype, name)?.value;
        if (name === 'constructor' || typeof handler !== 'function') continue;
        // The same precedence as AccessGuard: the method's mark, then the class's, then admin.
        const mark: Access | undefined =
          Reflect.getMetadata(ACCESS_METADATA, handler) ??
          Reflect.getMetadata(ACCESS_METADATA, metatype);
        access.set(`${metatype.name}_${name}`, mark ?? 'admin');
      }
    }
  }
  return access;
}

/**
 * Declares the two credentials (the admin session cookie, the service key as a bearer token)
 * and puts on every operation the one its route's guard asks for, read from the same
 * `@Public()` / `@ServiceKeyOnly()` marks the guard reads: a new route is documented right
 * without a Swagger decorator, and "Authorize" in Swagger UI lets a user try every route.
 */
export function documentAccess(
  app: INestApplication,
  document: OpenAPIObject,
): OpenAPIObject {
  document.components ??= {};
  document.components.securitySchemes = {
    ...document.components.securitySchemes,
    [SESSION_SCHEME]: {
      type: 'apiKey',
      in: 'cookie',
      name: SESSION_COOKIE,
      description:
        'The admin session: log in with POST /api/v1/session from this page and the browser sends the cookie. ' +
        '(Browsers do not let a page set an httpOnly cookie, so a value typed here is not sent.)',
    },
    [SERVICE_KEY_SCHEME]: {
      type: 'http',
      scheme: 'bearer',
      description:
        'A service key from SERVICE_API_KEYS, sent as Authorization: Bearer <key>.',
    },
  };
  const access = accessByOperationId(app);
  for (const operations of Object.values(document.paths)) {
    for (const method of [
      'get',
      'put',
      'post',
      'delete',
      'options',
      'head',
      'patch',
      'trace',
    ] as const) {
      const operation = operations[method];
      if (!operation) continue;
      // Operations added outside Nest's controllers (liveness) are left as they are written.
      const mark = operation.operationId
        ? access.get(operation.operationId)
        : undefined;
      if (!mark) continue;
      const security = SECURITY[mark];
      if (security) operation.security = security;
      else delete operation.security;
    }
  }
  return document;
}
