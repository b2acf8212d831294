import type { Campaign as CampaignView } from '#contracts/campaigns';
import type { MikroORM } from '../../db/orm.ts';
import type { Campaign, RenderedVariant } from '../../db/entities/campaign.entity.ts';
import { HttpError } from '../http/errors.ts';
import type { MailboxesService } from '../inbox/mailboxes.service.ts';
import type { Logger } from '../logger.ts';
import { inTenant, requireWrite, systemActor, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { BulkEngine } from '../delivery/bulk/engine.ts';
import { audienceQuery } from './audience.ts';
import { checkReady } from './campaign-checks.ts';
import { variantSources } from './campaign-mail.ts';
import type { CampaignsService } from './campaigns.service.ts';
import { trackLinks } from './compile.ts';
import { compileOffThread } from './compile-pool.ts';

export interface LifecycleDeps {
  orm: MikroORM;
  campaigns: CampaignsService;
  mailboxes: MailboxesService;
  inboundDomain: string;
  log: Logger;
}

const YEAR_MS = 366 * 24 * 3600_000;

const invalidStatus = (c: Campaign, action: string) =>
  new HttpError(409, 'invalid_status', `A ${c.status} campaign cannot be ${action}`);

/**
 * A campaign's life: scheduled, sent now (or by the `newsletters.start-due` job), paused, resumed, cancelled. Starting
 * is one transaction: variants compiled into `rendered`, links written to `delivery_links`, recipients frozen into
 * the engine's send rows, status `sending`, the engine started; the engine calls back when every row is terminal.
 */
export class CampaignLifecycle {
  readonly #d: LifecycleDeps;
  /** The shared engine, wired once both are built (services.ts). */
  bulk: BulkEngine | undefined;

  constructor(deps: LifecycleDeps) {
    this.#d = deps;
  }

  #command(actor: Actor, id: string, fn: (uow: UnitOfWork, c: Campaign) => Promise<void>): Promise<CampaignView> {
    requireWrite(actor);
    return inTenant(this.#d.orm, actor, async (uow) => {
      const c = await this.#d.campaigns.find(uow, id, true);
      await fn(uow, c);
      await uow.em.flush();
      await uow.em.refresh(c);
      return this.#d.campaigns.view(uow, c);
    });
  }

  schedule(actor: Actor, id: string, at: Date): Promise<CampaignView> {
    return this.#command(actor, id, async (uow, c) => {
      if (c.status !== 'draft' && c.status !== 'scheduled') throw invalidStatus(c, 'scheduled');
      const ms = at.getTime() - Date.now();
      if (ms <= 0 || ms > YEAR_MS)
        throw new HttpError(400, 'validation_failed', 'Choose a time in the future', {
          at: 'must be in the future, at most a year ahead',
        });
      await checkReady(uow, c, this.#d);
      c.status = 'scheduled';
      c.scheduledAt = at;
    });
  }

  send(actor: Actor, id: string): Promise<CampaignView> {
    return this.#command(actor, id, async (uow, c) => {
      if (c.status !== 'draft' && c.status !== 'scheduled') throw invalidStatus(c, 'sent');
      await this.#start(uow, c);
    });
  }

  pause(actor: Actor, id: string): Promise<CampaignView> {
    return this.#command(actor, id, async (_uow, c) => {
      if (c.status !== 'sending') throw invalidStatus(c, 'paused');
      c.status = 'paused';
    });
  }

  resume(actor: Actor, id: string): Promise<CampaignView> {
    return this.#command(actor, id, async (uow, c) => {
      if (c.status !== 'paused') throw invalidStatus(c, 'resumed');
      c.status = 'sending';
      await uow.em.flush();
      await this.#engine().start(uow, 'campaign', c.id);
    });
  }

  /** A scheduled campaign goes back to draft; a sending or paused one is cancelled (rows not sent yet too). */
  cancel(actor: Actor, id: string): Promise<CampaignView> {
    return this.#command(actor, id, async (uow, c) => {
      if (c.status === 'scheduled') {
        c.status = 'draft';
        c.scheduledAt = null;
        return;
      }
      if (c.status !== 'sending' && c.status !== 'paused') throw invalidStatus(c, 'cancelled');
      c.status = 'cancelled';
      c.finishedAt = new Date();
      // flushed first: the engine's end-of-source callback reads the status
      await uow.em.flush();
      await this.#engine().cancel(uow, 'campaign', c.id);
    });
  }

  #engine(): BulkEngine {
    if (!this.bulk) throw new HttpError(503, 'sending_unavailable', 'Sending is not available on this server yet');
    return this.bulk;
  }

  async #start(uow: UnitOfWork, c: Campaign): Promise<void> {
    await checkReady(uow, c, this.#d);
    const bulk = this.#engine();
    const sources = variantSources(c);
    const compiled = await Promise.all(
      sources.map((s) => compileOffThread({ content: s.content, preheader: c.preheader ?? null })),
    );
    // the same URL has the same index in every variant, so that the report compares them link by link
    const links = new Map<string, number>();
    const indexOf = (url: string) => links.get(url) ?? (links.set(url, links.size), links.size - 1);
    const rendered: RenderedVariant[] = sources.map((s, i) => ({
      key: s.key,
      subject: s.subject,
      html: trackLinks(compiled[i]!.html, indexOf),
      text: compiled[i]!.text,
    }));
    const tenantId = uow.actor.tenantId;
    const entries = [...links];
    for (let at = 0; at < entries.length; at += 500) {
      const chunk = entries.slice(at, at + 500);
      await uow.em.execute(
        `insert into delivery_links (source, source_id, link_index, tenant_id, url)
         values ${chunk.map(() => `('campaign', ?, ?, ?, ?)`).join(', ')} on conflict do nothing`,
        chunk.flatMap(([url, index]) => [c.id, index, tenantId, url]),
      );
    }
    const select = await audienceQuery(uow.em, tenantId, c.listIds);
    const split =
      c.ab && c.variants.length >= 2
        ? { variants: c.variants.map((v) => ({ key: v.key, weight: v.weight })), testPercent: c.ab.testPercent }
        : undefined;
    const { recipients } = await bulk.enqueue(uow, {
      source: 'campaign',
      sourceId: c.id,
      select,
      ...(split ? { split } : {}),
    });
    c.rendered = rendered;
    c.startedAt = new Date();
    // nobody to send to: done at once (the engine has no row to finish)
    c.status = recipients ? 'sending' : 'sent';
    if (!recipients) c.finishedAt = c.startedAt;
    await uow.em.flush();
    if (recipients) await bulk.start(uow, 'campaign', c.id);
  }

  /**
   * Scheduled campaigns whose time has come, across workspaces, each started in its own transaction (claimed under
   * its row lock, so two workers start it once). One no longer ready goes back to draft, with the reason logged.
   */
  async startDue(now = new Date()): Promise<number> {
    const due = (await this.#d.orm.em
      .getConnection()
      .execute(`select tenant_id, campaign_id from filo_due_campaigns(?)`, [now])) as {
      tenant_id: string;
      campaign_id: string;
    }[];
    let started = 0;
    for (const row of due) {
      const actor = systemActor(row.tenant_id, 'Filo');
      try {
        const done = await inTenant(this.#d.orm, actor, async (uow) => {
          const c = await this.#d.campaigns.find(uow, row.campaign_id, true);
          if (c.status !== 'scheduled' || !c.scheduledAt || c.scheduledAt > now) return false;
          await this.#start(uow, c);
          return true;
        });
        if (done) started++;
      } catch (err) {
        this.#d.log.warn({ err, campaignId: row.campaign_id }, 'scheduled campaign not started');
        if (err instanceof HttpError && err.status === 400)
          await inTenant(this.#d.orm, actor, async (uow) => {
            const c = await this.#d.campaigns.find(uow, row.campaign_id, true);
            if (c.status === 'scheduled') c.status = 'draft';
            await uow.em.flush();
          });
      }
    }
    return started;
  }
}
