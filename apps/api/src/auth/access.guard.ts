import {
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Access, ACCESS_METADATA, KeeperRequest } from './access.decorators';
import {
  CrossSiteRequestError,
  LoginRequiredError,
  ServiceKeyRequiredError,
} from './auth.errors';
import { ServiceKeyVerifier } from './service-key.verifier';
import { SESSION_COOKIE, SessionService } from './session.service';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Every route needs an admin session unless marked {@link Public} or {@link ServiceKeyOnly}.
 * State-changing admin requests must also come from our own site: the session cookie is
 * SameSite=Strict already, and `Sec-Fetch-Site` / `Origin` are checked as a second lock.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  private readonly allowedOrigins: Set<string>;

  constructor(
    private readonly reflector: Reflector,
    private readonly sessions: SessionService,
    private readonly serviceKeys: ServiceKeyVerifier,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.allowedOrigins = new Set([
      new URL(config.consoleUrl).origin,
      new URL(config.amazon.redirectUri).origin,
    ]);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access =
      this.reflector.getAllAndOverride<Access | undefined>(ACCESS_METADATA, [
        context.getHandler(),
        context.getClass(),
      ]) ?? 'admin';
    const request = context.switchToHttp().getRequest<KeeperRequest>();
    if (access === 'public') {
      // The login is the one public route that changes state: refused from another site too.
      if (!SAFE_METHODS.has(request.method) && this.isCrossSite(request))
        throw new CrossSiteRequestError();
      return true;
    }

    if (access === 'service') {
      const caller = this.serviceKeys.callerFor(request.headers.authorization);
      if (!caller) throw new ServiceKeyRequiredError();
      request.serviceKey = caller;
      request.serviceKeyId = caller.id;
      return true;
    }

    const session = await this.sessions.resolve(
      request.cookies?.[SESSION_COOKIE],
    );
    if (!session) throw new LoginRequiredError();
    if (!SAFE_METHODS.has(request.method) && this.isCrossSite(request))
      throw new CrossSiteRequestError();
    request.adminSession = session;
    return true;
  }

  private isCrossSite(request: KeeperRequest): boolean {
    const fetchSite = request.headers['sec-fetch-site'];
    if (
      typeof fetchSite === 'string' &&
      fetchSite !== 'same-origin' &&
      fetchSite !== 'none'
    )
      return true;
    const origin = request.headers.origin;
    if (typeof origin !== 'string') return false;
    const ownOrigin = `${request.protocol}://${request.headers.host ?? ''}`;
    return origin !== ownOrigin && !this.allowedOrigins.has(origin);
  }
}
