import type { MikroORM } from '../../db/orm.ts';
import { DEFAULT_NOTIFICATION_PREFS } from '#contracts/preferences';
import type { Mailer } from '../delivery/mailer.ts';
import type { Logger } from '../logger.ts';
import type { NotificationsService } from '../timeline/notifications.service.ts';
import { inTenant, systemActor, type UnitOfWork } from '../tenancy.ts';
import { mailLang } from './notify.text.ts';
import { noticeLine, noticePath, renderNoticeMail } from './notice-mail.ts';

interface DueRow {
  tenant_id: string;
  user_id: string;
  notification_id: string;
  daily: boolean;
}

/** The web page where a member changes what reaches them (the mails' footer and List-Unsubscribe point there). */
export const PREFS_PATH = '/settings/notifications';

export interface UnreadMailDeps {
  orm: MikroORM;
  notifications: Pick<NotificationsService, 'claimForEmail' | 'releaseEmailClaim'>;
  mailer: Pick<Mailer, 'deliver'>;
  /** The system sender (MAIL_FROM). */
  from: string;
  publicUrl: string;
  log: Logger;
}

/**
 * Emails notices left unread: each one of a type the member lets through, once, after their delay (or in one daily
 * digest at 08:00 of the workspace's time zone), grouped in one mail per member. The mail goes out inside the
 * transaction that marks the notices emailed with `read_at is null` re-checked under their row locks, so a notice
 * read before that commit is never mailed and two workers never mail the same notice.
 */
export class UnreadMail {
  readonly #d: UnreadMailDeps;

  constructor(deps: UnreadMailDeps) {
    this.#d = deps;
  }

  /** One pass: what is due now, across workspaces. Answers how many mails went and how many notices they carried. */
  async run(now = new Date()): Promise<{ mails: number; notices: number }> {
    const due = (await this.#d.orm.em
      .getConnection()
      .execute(`select tenant_id, user_id, notification_id, daily from filo_notify_due(?, ?::jsonb)`, [
        now,
        JSON.stringify(DEFAULT_NOTIFICATION_PREFS),
      ])) as DueRow[];
    const groups = new Map<string, { tenantId: string; userId: string; daily: boolean; ids: string[] }>();
    for (const row of due) {
      const key = `${row.tenant_id}:${row.user_id}`;
      const group = groups.get(key) ?? { tenantId: row.tenant_id, userId: row.user_id, daily: row.daily, ids: [] };
      group.ids.push(row.notification_id);
      groups.set(key, group);
    }
    let mails = 0;
    let notices = 0;
    for (const g of groups.values()) {
      try {
        const sent = await this.#mailOne(g, now);
        if (sent) {
          mails++;
          notices += sent;
        }
      } catch (err) {
        // Nothing was marked: the next pass tries again.
        this.#d.log.warn({ err, tenantId: g.tenantId, userId: g.userId }, 'unread notices not emailed');
      }
    }
    return { mails, notices };
  }

  /**
   * Claims the notices and renders their mail in one transaction, sends after it (never holding the notices' row
   * locks through an SMTP session: marking them read would wait on it), and releases the claim if sending fails.
   */
  async #mailOne(g: { tenantId: string; userId: string; daily: boolean; ids: string[] }, now: Date): Promise<number> {
    const actor = systemActor(g.tenantId);
    const claim = await inTenant(this.#d.orm, actor, (uow) => this.#claim(uow, g, now));
    if (!claim) return 0;
    try {
      await this.#d.mailer.deliver(claim.message, { tenantId: g.tenantId });
    } catch (err) {
      await inTenant(this.#d.orm, actor, (uow) => this.#d.notifications.releaseEmailClaim(uow, claim.ids, now));
      throw err;
    }
    return claim.ids.length;
  }

  async #claim(
    uow: UnitOfWork,
    g: { tenantId: string; userId: string; daily: boolean; ids: string[] },
    now: Date,
  ): Promise<{ ids: string[]; message: Parameters<Mailer['deliver']>[0] } | null> {
    const claimed = await this.#d.notifications.claimForEmail(uow, g.userId, g.ids, now);
    if (!claimed.length) return null;
    const [user] = (await uow.em.execute(`select email, name, locale from users where id = ?`, [g.userId])) as {
      email: string;
      name: string;
      locale: string | null;
    }[];
    const [tenant] = (await uow.em.execute(`select name, time_zone from tenants where id = ?`, [g.tenantId])) as {
      name: string;
      time_zone: string;
    }[];
    if (!user || !tenant) return null;
    const dealIds = claimed.filter((n) => n.entityType === 'deal' && n.entityId).map((n) => n.entityId!);
    const deals = dealIds.length
      ? ((await uow.em.execute(`select id, company_id from deals where id = any(?::uuid[])`, [
          `{${dealIds.join(',')}}`,
        ])) as { id: string; company_id: string | null }[])
      : [];
    const dealCompany = new Map(deals.map((d) => [d.id, d.company_id]));
    const lang = mailLang(user.locale);
    const zone = validZone(tenant.time_zone);
    const prefsUrl = `${this.#d.publicUrl}${PREFS_PATH}`;
    const mail = renderNoticeMail({
      lang,
      name: user.name,
      workspace: tenant.name,
      digest: g.daily,
      prefsUrl,
      items: claimed.map((n) => ({
        ...noticeLine(n, lang, zone),
        url: `${this.#d.publicUrl}${noticePath(n, dealCompany)}`,
      })),
    });
    return {
      ids: claimed.map((n) => n.id),
      message: {
        from: this.#d.from,
        to: { name: user.name, address: user.email },
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        headers: { 'List-Unsubscribe': `<${prefsUrl}>`, 'Auto-Submitted': 'auto-generated' },
      },
    };
  }
}

function validZone(zone: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone;
  } catch {
    return 'UTC';
  }
}
