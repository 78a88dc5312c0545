import { Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiSeeOtherResponse,
  ApiTags,
} from '@nestjs/swagger';
import { REGION_NAMES } from '@keeper/contracts';
import type { FastifyReply } from 'fastify';
import {
  CorrelationId,
  KeeperRequest,
  Public,
} from '../auth/access.decorators';
import { API_PREFIX } from '../common/api-prefix';
import {
  AmazonConnectService,
  ConnectResult,
  OAUTH_STATE_LIFETIME_MS,
} from './amazon-connect.service';
import { ConnectLinksService } from './connect-links.service';

/**
 * The account owner's binding cookie: scoped to `/api/v1/` so that "Continue" (under
 * `/api/v1/connect/`) reads back the one another tab set, and the callback receives it.
 */
export const LINK_BINDING_COOKIE = 'atk_link_oauth';
export const LINK_BINDING_PATH = `/${API_PREFIX}/`;
/** The scope the keeper asks for (the LWA client sends the same). */
const SCOPE = 'advertising::campaign_management';

/** What the done page says for each outcome; nothing from the URL is echoed. */
const DONE_TEXT: Record<string, { title: string; text: string }> = {
  connected: {
    title: 'Done: the account is connected',
    text: 'Thank you. The keeper now holds access for this Amazon Ads account. You can close this page.',
  },
  reconnected: {
    title: 'Done: the account is reconnected',
    text: 'Thank you. The keeper renewed its access for this Amazon Ads account. You can close this page.',
  },
  access_denied: {
    title: 'Access was not granted',
    text: 'Access was denied on the Amazon consent page; nothing was changed. Open the link again to retry.',
  },
  state_invalid: {
    title: 'This sign-in cannot be completed',
    text: 'The sign-in was started in another browser, was already used, or this browser did not bring back its cookie. Nothing was changed; open the link again in this browser.',
  },
  state_expired: {
    title: 'This sign-in took too long',
    text: 'The sign-in took longer than 10 minutes. Nothing was changed; open the link again.',
  },
  amazon_error: {
    title: 'Amazon did not complete the sign-in',
    text: 'Nothing was changed. Open the link again in a minute, or ask the administrator.',
  },
  link_used: {
    title: 'This link was already used',
    text: 'A link works once. Nothing was changed; ask the administrator for a new one.',
  },
  link_expired: {
    title: 'This link has expired',
    text: 'Nothing was changed; ask the administrator for a new one.',
  },
  link_revoked: {
    title: 'This link was withdrawn',
    text: 'The administrator revoked it. Nothing was changed; ask for a new one.',
  },
  link_unknown: {
    title: 'This link is not known here',
    text: 'Check that it was copied whole, or ask the administrator for a new one.',
  },
  connection_gone: {
    title: 'The account this link renews was disconnected',
    text: 'The administrator disconnected it after making this link. Nothing was changed; ask for a new link.',
  },
  account_mismatch: {
    title: 'That is not the Amazon account this link is for',
    text: 'This link renews the access of another Amazon account. Nothing was changed and the link still works: sign in to Amazon with the right account and open it again.',
  },
};

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (character) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[
        character
      ] as string,
  );
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · ads-token-keeper</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
dt{font-weight:600}dd{margin:0 0 .5rem}button{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}</style>
</head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

/**
 * Pages never cached, never framed, never sending the link's URL to another site as a
 * referrer. `same-origin`, not `no-referrer`: with `no-referrer` Chromium posts the form with
 * `Origin: null`, which the guard refuses as cross-site.
 */
function sendPage(reply: FastifyReply, status: number, html: string): void {
  void reply
    .status(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'same-origin')
    .header('x-frame-options', 'DENY')
    .header(
      'content-security-policy',
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    )
    .send(html);
}

function refusalPage(reply: FastifyReply, refused: ConnectResult): void {
  const text = DONE_TEXT[refused.outcome] ?? DONE_TEXT.link_unknown;
  sendPage(
    reply,
    refused.outcome === 'link_unknown' ? 404 : 410,
    page(text.title, `<p>${escapeHtml(text.text)}</p>`),
  );
}

/**
 * The account owner's side of a connect link, with no keeper login: the link's page, its
 * "Continue to Amazon" (the admin's consent flow, bound to this browser by a cookie of its
 * own) and the page the callback ends on. The secret is in the path; the request log masks it
 * (`redactPath`).
 */
@ApiTags('connect links')
@Controller('connect')
export class OwnerLinkController {
  constructor(
    private readonly links: ConnectLinksService,
    private readonly connect: AmazonConnectService,
  ) {}

  @Get('done')
  @Public()
  @ApiOperation({
    summary:
      "The page a connect link's consent ends on (the callback's 303 comes here)",
  })
  @ApiOkResponse({ description: 'text/html' })
  done(@Query('outcome') outcome: unknown, @Res() reply: FastifyReply): void {
    const text =
      (typeof outcome === 'string' && Object.hasOwn(DONE_TEXT, outcome)
        ? DONE_TEXT[outcome]
        : undefined) ?? DONE_TEXT.amazon_error;
    sendPage(
      reply,
      200,
      page(text.title, `<p role="status">${escapeHtml(text.text)}</p>`),
    );
  }

  @Get(':secret')
  @Public()
  @ApiOperation({
    summary:
      "A connect link's page for the account owner: who asks for what, and a button to Amazon",
  })
  @ApiOkResponse({
    description:
      'text/html; 404 for an unknown link, 410 for a used, expired or revoked one',
  })
  async show(
    @Param('secret') secret: string,
    @Res() reply: FastifyReply,
    @CorrelationId() correlationId: string,
  ): Promise<void> {
    const link = await this.links.find(secret, correlationId, true);
    if ('outcome' in link) return refusalPage(reply, link);
    const details = [
      [
        'Asked by',
        `The administrator of the ads-token-keeper at ${new URL(this.links.urlOf(secret)).host}`,
      ],
      ['For', link.label ?? 'an Amazon Ads account'],
      ['Amazon region', REGION_NAMES[link.region]],
      [
        'Access asked',
        `${SCOPE} (manage Amazon Ads campaigns and read reports)`,
      ],
      [
        'Link valid until',
        `${link.expiresAt.toISOString().replace('T', ' ').slice(0, 16)} UTC, once`,
      ],
    ];
    if (link.connectionId)
      details.splice(2, 0, [
        'Kind',
        'Renews access to an account already connected: sign in with that same Amazon account',
      ]);
    const list = details
      .map(
        ([term, value]) =>
          `<dt>${escapeHtml(term)}</dt><dd>${escapeHtml(value)}</dd>`,
      )
      .join('');
    sendPage(
      reply,
      200,
      page(
        link.connectionId
          ? 'Reconnect your Amazon Ads account'
          : 'Connect your Amazon Ads account',
        `<p>You were sent this link to let the keeper use your Amazon Ads account. Amazon shows you what you grant and asks you to agree; no keeper login is needed.</p>
<dl>${list}</dl>
<form method="post" enctype="text/plain"><button type="submit">Continue to Amazon</button></form>`,
      ),
    );
  }

  @Post(':secret')
  @Public()
  @ApiOperation({
    summary:
      'The owner\'s "Continue to Amazon": sends this browser to Amazon\'s consent (PKCE S256, single-use state bound to this browser)',
  })
  @ApiSeeOtherResponse({ description: "Location: Amazon's consent page" })
  async continue(
    @Param('secret') secret: string,
    @Req() request: KeeperRequest,
    @Res() reply: FastifyReply,
    @CorrelationId() correlationId: string,
  ): Promise<void> {
    const link = await this.links.find(secret, correlationId, false);
    if ('outcome' in link) return refusalPage(reply, link);
    const started = await this.connect.startForLink(
      link,
      request.cookies?.[LINK_BINDING_COOKIE],
    );
    void reply
      .setCookie(LINK_BINDING_COOKIE, started.browserBinding, {
        httpOnly: true,
        sameSite: 'lax',
        secure: request.protocol === 'https',
        path: LINK_BINDING_PATH,
        maxAge: OAUTH_STATE_LIFETIME_MS / 1000,
      })
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .redirect(started.authorizationUrl, 303);
  }
}
