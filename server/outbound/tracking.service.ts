import { LockMode } from '@mikro-orm/core';
import { Router, type Request } from 'express';
import type { MikroORM } from '../../db/orm.ts';
import { MessageSchema, type Message, emailOf } from '../../db/entities/message.entity.ts';
import { TrackingEventSchema } from '../../db/entities/tracking-event.entity.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { RouteInfo } from '../http/routes.ts';
import type { Logger } from '../logger.ts';
import { inTenant, systemActor, type UnitOfWork } from '../tenancy.ts';
import { trackHtml, TrackingTokens, type TrackingKind } from './tracking.ts';
import {
  isMachineAgent,
  leavingPage,
  MACHINE_WINDOW_MS,
  mayRedirect,
  NOT_FOUND_PAGE,
  PIXEL_GIF,
} from '../delivery/tracking-rules.ts';

export { MACHINE_WINDOW_MS };

export interface TrackedLoad {
  userAgent: string | undefined;
}

/** Where a tracked link leads; `direct` when it may be a plain redirect, else a page shows the address first. */
export interface LinkTarget {
  url: string;
  direct: boolean;
}

/**
 * Records the loads of open pixels and follows of tracked links, from the public `/t/...` routes (no session: the
 * signed token is the key). The first human open of a message and the first human click of each of its links
 * write `email.opened` / `email.clicked` on the contact's (and so the company's) timeline; every load is counted.
 */
export class TrackingService {
  readonly #orm: MikroORM;
  readonly #activities: ActivitiesService;
  readonly #log: Logger;
  readonly tokens: TrackingTokens;
  readonly publicUrl: string;
  /** Loads within this many milliseconds of sending are machine loads (tests set 0). */
  machineWindowMs: number;
  /** The clock (tests may replace it). */
  now: () => Date = () => new Date();

  constructor(deps: {
    orm: MikroORM;
    activities: ActivitiesService;
    secretKey: string;
    publicUrl: string;
    machineWindowMs?: number;
    log: Logger;
  }) {
    this.#orm = deps.orm;
    this.#activities = deps.activities;
    this.#log = deps.log;
    this.tokens = new TrackingTokens(deps.secretKey);
    this.publicUrl = deps.publicUrl;
    this.machineWindowMs = deps.machineWindowMs ?? MACHINE_WINDOW_MS;
  }

  /** The HTML to send for a message of a mailbox (unchanged when the mailbox tracks nothing). */
  apply(
    html: string,
    messageId: string,
    mailbox: { trackOpens: boolean; trackClicks: boolean },
  ): { html: string; links: string[] | null } {
    if (!mailbox.trackOpens && !mailbox.trackClicks) return { html, links: null };
    const out = trackHtml(html, {
      messageId,
      opens: mailbox.trackOpens,
      clicks: mailbox.trackClicks,
      publicUrl: this.publicUrl,
      tokens: this.tokens,
    });
    return { html: out.html, links: mailbox.trackClicks ? out.links : null };
  }

  /** The workspace of a verified token's message, before any tenant is set. */
  async #tenantOf(messageId: string): Promise<string | null> {
    const [row] = (await this.#orm.em
      .getConnection()
      .execute(`select filo_tracking_tenant(?) as tenant_id`, [messageId])) as { tenant_id: string | null }[];
    return row?.tenant_id ?? null;
  }

  /**
   * A prefetcher or scanner is always a machine; anything else (a browser, a webmail image proxy fetching for its
   * reader) is a machine only within the window after sending, when no person has had time to open the mail.
   */
  #machine(message: Message, load: TrackedLoad): boolean {
    if (isMachineAgent(load.userAgent)) return true;
    if (!message.sentAt) return true;
    return this.now().getTime() - message.sentAt.getTime() < this.machineWindowMs;
  }

  /** An open pixel was loaded. Unknown or forged tokens record nothing. */
  async open(token: string, load: TrackedLoad): Promise<void> {
    const claim = this.tokens.verify(token);
    if (!claim || claim.kind !== 'open') return;
    await this.#inMessage(claim.messageId, async (uow, message) => {
      const machine = this.#machine(message, load);
      this.#event(uow, message, 'open', { machine, load });
      if (machine) return;
      const first = !message.openedAt;
      message.openCount += 1;
      message.openedAt ??= this.now();
      await uow.em.flush();
      if (first) await this.#activity(uow, message, 'email.opened', {});
    });
  }

  /**
   * Whether a link may redirect at once: to Filo itself or a domain the workspace has verified. Any other address
   * gets a page that shows it first, so that Filo's name cannot dress up a workspace's link to anywhere.
   */
  async #direct(em: UnitOfWork['em'], url: string): Promise<boolean> {
    return mayRedirect(em, url, this.publicUrl);
  }

  /** A tracked link was followed: where to send the browser, or null for a token that names no link we sent. */
  async click(token: string, load: TrackedLoad): Promise<LinkTarget | null> {
    const claim = this.tokens.verify(token);
    if (!claim || claim.kind !== 'click') return null;
    const target = await this.#inMessage(claim.messageId, async (uow, message) => {
      const url = message.trackedLinks?.[claim.index];
      // Only links of a message that really went out (not one still queued or failed).
      if (!url || message.status !== 'sent') return null;
      const machine = this.#machine(message, load);
      const before = machine
        ? 1
        : await uow.em.count(TrackingEventSchema, {
            messageId: message.id,
            kind: 'click',
            linkIndex: claim.index,
            machine: false,
          });
      this.#event(uow, message, 'click', { machine, load, index: claim.index, url });
      if (!machine) {
        message.clickCount += 1;
        message.clickedAt ??= this.now();
      }
      await uow.em.flush();
      if (!before) await this.#activity(uow, message, 'email.clicked', { url, linkIndex: claim.index });
      return { url, direct: await this.#direct(uow.em, url) };
    });
    return target ?? null;
  }

  /** Where a click token leads, without recording anything (a HEAD request, or when recording failed). */
  async target(token: string): Promise<LinkTarget | null> {
    const claim = this.tokens.verify(token);
    if (!claim || claim.kind !== 'click') return null;
    const tenantId = await this.#tenantOf(claim.messageId);
    if (!tenantId) return null;
    return inTenant(this.#orm, systemActor(tenantId, 'Filo tracking'), async ({ em }) => {
      const message = await em.findOne(MessageSchema, { id: claim.messageId, direction: 'outbound' });
      const url = message?.status === 'sent' ? message.trackedLinks?.[claim.index] : undefined;
      return url ? { url, direct: await this.#direct(em, url) } : null;
    });
  }

  /** Runs `fn` in the message's workspace with the message row locked (concurrent loads count one by one). */
  async #inMessage<T>(
    messageId: string,
    fn: (uow: UnitOfWork, message: Message) => Promise<T>,
  ): Promise<T | undefined> {
    const tenantId = await this.#tenantOf(messageId);
    if (!tenantId) return undefined;
    return inTenant(this.#orm, systemActor(tenantId, 'Filo tracking'), async (uow) => {
      const message = await uow.em.findOne(
        MessageSchema,
        { id: messageId, direction: 'outbound' },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (!message) return undefined;
      return fn(uow, message);
    });
  }

  #event(
    uow: UnitOfWork,
    message: Message,
    kind: TrackingKind,
    e: { machine: boolean; load: TrackedLoad; index?: number; url?: string },
  ) {
    uow.em.create(TrackingEventSchema, {
      tenantId: uow.actor.tenantId,
      messageId: message.id,
      kind,
      linkIndex: e.index ?? null,
      url: e.url ?? null,
      machine: e.machine,
      userAgent: e.load.userAgent?.slice(0, 500) ?? null,
    });
  }

  async #activity(uow: UnitOfWork, message: Message, type: 'email.opened' | 'email.clicked', extra: object) {
    const to = emailOf(message)
      .to.map((a) => a.address)
      .join(', ');
    const verb = type === 'email.opened' ? 'opened' : 'clicked a link in';
    await this.#activities.record(uow, {
      entityType: message.contactId ? 'contact' : message.companyId ? 'company' : 'conversation',
      entityId: message.contactId ?? message.companyId ?? message.conversationId,
      companyId: message.companyId ?? null,
      type,
      title: `${to} ${verb} “${message.subject}”`,
      data: {
        conversationId: message.conversationId,
        emailMessageId: message.id,
        mailboxId: message.mailboxId,
        messageId: message.messageIdHeader,
        subject: message.subject,
        to: emailOf(message).to,
        ...extra,
      },
    });
  }

  /** What `/t/...` answers; a failure to record never changes it. */
  async safely<T>(what: string, fn: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.#log.error({ err }, `tracking: could not record ${what}`);
      return fallback;
    }
  }
}

/** Public routes, outside /api and without a session: the signed token in the path is the only key. */
export const TRACKING_ROUTES: RouteInfo[] = [
  {
    method: 'get',
    path: '/t/o/:token.gif',
    spec: {
      summary: 'Open pixel of tracked mail: always a 1x1 GIF, no-store; a valid token records the open',
      response: { file: 'image/gif' },
      public: true,
    },
  },
  {
    method: 'get',
    path: '/t/c/:token',
    spec: {
      summary:
        'Tracked link: 302 to the address that was in the message (a page showing it when outside the verified domains); a 404 page for an invalid token',
      response: 'empty',
      status: 302,
      public: true,
    },
  },
];

const userAgentOf = (req: Request) => req.get('user-agent') ?? undefined;

export function trackingRoutes(tracking: TrackingService): Router {
  const r = Router();
  // Always the same pixel, whatever the token: nothing tells a forged token from a real one.
  r.get('/t/o/:token.gif', async (req, res) => {
    // HEAD (a scanner checking the address) is not a load.
    if (req.method === 'GET')
      await tracking.safely(
        'an open',
        () => tracking.open(req.params.token, { userAgent: userAgentOf(req) }),
        undefined,
      );
    res.setHeader('Cache-Control', 'no-store, max-age=0');
    res.setHeader('Content-Type', 'image/gif');
    res.setHeader('Content-Length', String(PIXEL_GIF.length));
    res.status(200).end(req.method === 'HEAD' ? undefined : PIXEL_GIF);
  });
  r.get('/t/c/:token', async (req, res) => {
    const load = { userAgent: userAgentOf(req) };
    const target =
      req.method === 'HEAD'
        ? await tracking.safely('a link', () => tracking.target(req.params.token), null)
        : ((await tracking.safely('a click', () => tracking.click(req.params.token, load), null)) ??
          (await tracking.safely('a link', () => tracking.target(req.params.token), null)));
    res.setHeader('Cache-Control', 'no-store, max-age=0');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (!target || !/^https?:\/\//i.test(target.url)) {
      res.status(404).type('html').send(NOT_FOUND_PAGE);
      return;
    }
    if (target.direct) res.redirect(302, target.url);
    else res.status(200).type('html').send(leavingPage(target.url));
  });
  return r;
}
