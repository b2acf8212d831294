import type { MikroORM } from '../../../db/orm.ts';
import type { SendSource } from '#contracts/delivery';
import type { Logger } from '../../logger.ts';
import { inTenant, systemActor, type UnitOfWork } from '../../tenancy.ts';
import { isMachineAgent, MACHINE_WINDOW_MS, mayRedirect } from '../tracking-rules.ts';
import { bumpStats } from './stats.ts';
import type { BulkTokens } from './tokens.ts';

/** A send row as the tracking hooks see it. */
export interface TrackedSend {
  id: string;
  tenantId: string;
  source: SendSource;
  sourceId: string;
  variant: string | null;
  contactId: string | null;
  address: string | null;
}

/** What a source writes on its recipient's timeline (the first human open, the first human click of a send). */
export interface BulkTrackingHooks {
  source: SendSource;
  opened?(uow: UnitOfWork, send: TrackedSend): Promise<void>;
  clicked?(uow: UnitOfWork, send: TrackedSend, link: { index: number; url: string }): Promise<void>;
}

export interface TrackedLoad {
  userAgent: string | undefined;
}

/** Where a tracked link leads; `direct` when it may be a plain redirect, else a page shows the address first. */
export interface LinkTarget {
  url: string;
  direct: boolean;
}

interface LookupRow {
  tenant_id: string;
  sent_at: Date | null;
  opened_at: Date | null;
}

const SEND_COLUMNS = `s.id, s.tenant_id, s.source, s.source_id, s.variant, s.contact_id, s.address`;
type SendRow = {
  id: string;
  tenant_id: string;
  source: SendSource;
  source_id: string;
  variant: string | null;
  contact_id: string | null;
  address: string | null;
};
const trackedSend = (r: SendRow): TrackedSend => ({
  id: r.id,
  tenantId: r.tenant_id,
  source: r.source,
  sourceId: r.source_id,
  variant: r.variant,
  contactId: r.contact_id,
  address: r.address,
});

/**
 * Opens and clicks of bulk mail (campaigns, sequences, bulk messages), from the public `/t/b/...` routes: the signed
 * token names a send row. Counters move through `bumpStats` (unique openers and clickers), `delivery_links` counts
 * every click (and people's apart), and the source's hooks write the timeline once per send. Machine loads (Apple's
 * prefetch, scanners, anything within the window after sending) never count as opens.
 */
export class BulkTracking {
  readonly #orm: MikroORM;
  readonly #tokens: BulkTokens;
  readonly #log: Logger;
  readonly #hooks = new Map<SendSource, BulkTrackingHooks>();
  readonly publicUrl: string;
  /** Loads within this many milliseconds of sending are machine loads. */
  machineWindowMs = MACHINE_WINDOW_MS;
  /** The clock (tests may replace it). */
  now: () => Date = () => new Date();

  constructor(deps: { orm: MikroORM; tokens: BulkTokens; publicUrl: string; log: Logger }) {
    this.#orm = deps.orm;
    this.#tokens = deps.tokens;
    this.#log = deps.log;
    this.publicUrl = deps.publicUrl;
  }

  /** A source's timeline writers (one per source). */
  register(hooks: BulkTrackingHooks): void {
    this.#hooks.set(hooks.source, hooks);
  }

  /** Whether a token is one this key signed, of that kind (no database). */
  verifies(token: string, kind: 'open' | 'click'): boolean {
    return this.#tokens.verify(token, kind) !== null;
  }

  async #lookup(sendId: string): Promise<LookupRow | null> {
    const rows = (await this.#orm.em
      .getConnection()
      .execute(`select * from filo_bulk_send_lookup(?)`, [sendId])) as LookupRow[];
    return rows[0] ?? null;
  }

  /** A prefetcher or scanner always; anything else only within the window after sending (or before it was sent). */
  #machine(sentAt: Date | null, load: TrackedLoad): boolean {
    if (isMachineAgent(load.userAgent) || !sentAt) return true;
    return this.now().getTime() - new Date(sentAt).getTime() < this.machineWindowMs;
  }

  /**
   * The open pixel was loaded. A machine load, an unknown token or a send already opened costs at most the one
   * look-up; only a person's first open writes (the conditional update decides between concurrent loads).
   */
  async open(token: string, load: TrackedLoad): Promise<void> {
    const claim = this.#tokens.verify(token, 'open');
    if (!claim || isMachineAgent(load.userAgent)) return;
    const row = await this.#lookup(claim.sendId);
    if (!row || row.opened_at || this.#machine(row.sent_at, load)) return;
    await inTenant(this.#orm, systemActor(row.tenant_id, 'Filo tracking'), async (uow) => {
      const at = this.now();
      const [updated] = (await uow.em.execute(
        `update bulk_sends s set opened_at = ? where s.id = ? and s.opened_at is null returning ${SEND_COLUMNS}`,
        [at, claim.sendId],
      )) as SendRow[];
      if (!updated) return;
      const send = trackedSend(updated);
      await bumpStats(uow.em, send, { opened: 1 }, at);
      await this.#hooks.get(send.source)?.opened?.(uow, send);
    });
  }

  /**
   * A tracked link was followed: counts it (people's apart), and a person's first click of the send marks it
   * clicked (and opened, if no open was seen). Null for a token that names no link of a sent message.
   */
  async click(token: string, load: TrackedLoad): Promise<LinkTarget | null> {
    const claim = this.#tokens.verify(token, 'click');
    if (!claim) return null;
    const row = await this.#lookup(claim.sendId);
    if (!row?.sent_at) return null;
    const human = !this.#machine(row.sent_at, load);
    return inTenant(this.#orm, systemActor(row.tenant_id, 'Filo tracking'), async (uow) => {
      const at = this.now();
      const [link] = (await uow.em.execute(
        `update delivery_links l set clicks = l.clicks + 1, human_clicks = l.human_clicks + ?
           from bulk_sends s
          where s.id = ? and l.tenant_id = s.tenant_id and l.source = s.source and l.source_id = s.source_id
            and l.link_index = ?
         returning l.url`,
        [human ? 1 : 0, claim.sendId, claim.index],
      )) as { url: string }[];
      if (!link) return null;
      if (human) {
        // The row's values before this click: whether this is the send's first click, and its first open.
        const [before] = (await uow.em.execute(
          `update bulk_sends s set clicked_at = coalesce(o.clicked_at, ?), opened_at = coalesce(o.opened_at, ?)
             from (select id, clicked_at, opened_at from bulk_sends where id = ? for update) o
            where s.id = o.id
           returning ${SEND_COLUMNS}, o.clicked_at as was_clicked, o.opened_at as was_opened`,
          [at, at, claim.sendId],
        )) as [SendRow & { was_clicked: Date | null; was_opened: Date | null }];
        const send = trackedSend(before);
        const firstOpen = !before.was_opened;
        const firstClick = !before.was_clicked;
        if (firstOpen || firstClick)
          await bumpStats(uow.em, send, { opened: firstOpen ? 1 : 0, clicked: firstClick ? 1 : 0 }, at);
        const hooks = this.#hooks.get(send.source);
        if (firstOpen) await hooks?.opened?.(uow, send);
        if (firstClick) await hooks?.clicked?.(uow, send, { index: claim.index, url: link.url });
      }
      return { url: link.url, direct: await mayRedirect(uow.em, link.url, this.publicUrl) };
    });
  }

  /** Where a click token leads, without recording anything (a HEAD request, or when recording failed). */
  async target(token: string): Promise<LinkTarget | null> {
    const claim = this.#tokens.verify(token, 'click');
    if (!claim) return null;
    const row = await this.#lookup(claim.sendId);
    if (!row?.sent_at) return null;
    return inTenant(this.#orm, systemActor(row.tenant_id, 'Filo tracking'), async ({ em }) => {
      const [link] = (await em.execute(
        `select l.url from delivery_links l join bulk_sends s
            on l.tenant_id = s.tenant_id and l.source = s.source and l.source_id = s.source_id
         where s.id = ? and l.link_index = ?`,
        [claim.sendId, claim.index],
      )) as { url: string }[];
      return link ? { url: link.url, direct: await mayRedirect(em, link.url, this.publicUrl) } : null;
    });
  }

  /** What `/t/b/...` answers; a failure to record never changes it. */
  async safely<T>(what: string, fn: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.#log.error({ err }, `bulk tracking: could not record ${what}`);
      return fallback;
    }
  }
}
