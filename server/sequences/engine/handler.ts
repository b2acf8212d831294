import type { EntityManager } from '@mikro-orm/postgresql';
import type { MikroORM } from '../../../db/orm.ts';
import type { BulkTokens } from '../../delivery/bulk/tokens.ts';
import type { BulkHandler, BulkRecipientRow, BulkScope, ComposedMail } from '../../delivery/bulk/types.ts';
import type { Logger } from '../../logger.ts';
import { escapeHtml, mergePieces, splitText, type MergeValues } from '../../newsletters/merge.ts';
import { inTenant, systemActor, type UnitOfWork } from '../../tenancy.ts';
import type { ActivitiesService } from '../../timeline/activities.service.ts';
import { enter, loadSequence, nextAfter, type FlowEnrolment } from './flow.ts';
import { recordEnrolments } from './stop.ts';

export interface SequenceHandlerDeps {
  orm: MikroORM;
  activities: ActivitiesService;
  bulkTokens: BulkTokens;
  publicUrl: string;
  inboundDomain: string;
  log: Logger;
}

interface EnrolmentRow extends FlowEnrolment {
  thread_message_id: string | null;
  thread_references: string | null;
  thread_subject: string | null;
}

/** What compose sent, kept for onSent's timeline entry and thread (by row id; rows are few and short-lived). */
interface Sent {
  subject: string;
  baseSubject: string;
  from: string;
}
const MAX_KEPT = 5_000;

/** "Re: Re: Hello" -> "Hello": the thread's subject once. */
const baseOf = (subject: string) => subject.replace(/^(\s*(re|r|aw|sv|fwd?)\s*:\s*)+/i, '').trim();

/** A web address in a step's text (one carrying a token is not tracked: it differs per prospect). */
const URL_RE = /https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)]/g;

/**
 * A person's plain mail as HTML: paragraphs and line breaks, links clickable (through `track` when clicks are
 * tracked; the text shown stays the address), nothing else (no images, no layout).
 */
export function plainHtml(text: string, track?: (url: string) => string | undefined): string {
  const paragraphs = text
    .replace(/\r\n/g, '\n')
    .split(/\n{2,}/)
    .filter((p) => p.trim());
  const body = paragraphs
    .map((p) => {
      const html = escapeHtml(p).replace(URL_RE, (url) => {
        const raw = url.replace(/&amp;/g, '&');
        return `<a href="${escapeHtml(track?.(raw) ?? raw)}">${url}</a>`;
      });
      return `<p>${html.replace(/\n/g, '<br>')}</p>`;
    })
    .join('\n');
  return `<!doctype html><html><body>${body}</body></html>`;
}

/**
 * The delivery engine's handler of source `sequence` (source id = an email step): its state from the sequence, each
 * row's mail from the step merged for the contact and threaded on the enrolment's previous email, sent from the
 * row's own mailbox; once sent, the enrolment keeps the thread and moves on to its next step.
 */
export class SequenceHandler implements BulkHandler {
  readonly source = 'sequence' as const;
  readonly #d: SequenceHandlerDeps;
  readonly #sent = new Map<string, Sent>();

  constructor(deps: SequenceHandlerDeps) {
    this.#d = deps;
  }

  async scope(em: EntityManager, stepId: string): Promise<BulkScope | null> {
    const [s] = (await em.execute(
      `select s.status, s.settings from sequence_steps st join sequences s on s.id = st.sequence_id where st.id = ?`,
      [stepId],
    )) as { status: string; settings: { trackOpens?: boolean; trackClicks?: boolean } }[];
    if (!s) return null;
    return {
      state: s.status === 'active' ? 'active' : s.status === 'archived' ? 'cancelled' : 'paused',
      // No lists: consent is the global suppression of the address.
      listIds: [],
      requireConfirmed: false,
      // Each row names its own mailbox (the prospect's pinned one).
      mailboxId: null,
      trackOpens: s.settings.trackOpens ?? true,
      trackClicks: s.settings.trackClicks ?? false,
    };
  }

  compose(tenantId: string, stepId: string, rows: BulkRecipientRow[]): Promise<Map<string, ComposedMail>> {
    return inTenant(this.#d.orm, systemActor(tenantId), async (uow) => {
      const out = new Map<string, ComposedMail>();
      const [st] = (await uow.em.execute(
        `select st.config, st.sequence_id, s.settings, s.status, u.name as owner_name
           from sequence_steps st join sequences s on s.id = st.sequence_id
           left join users u on u.id = s.owner_id
          where st.id = ?`,
        [stepId],
      )) as {
        config: { kind: string; subject: string; body: string; newThread: boolean };
        sequence_id: string;
        settings: { trackOpens?: boolean; trackClicks?: boolean };
        status: string;
        owner_name: string | null;
      }[];
      if (!st || st.config.kind !== 'email' || st.status !== 'active') return out;
      let subject;
      let body;
      try {
        subject = splitText(st.config.subject);
        body = splitText(st.config.body);
      } catch (err) {
        this.#d.log.warn({ err, stepId }, 'sequence step with a bad token: not sent');
        return out;
      }
      const contactIds = rows.map((r) => r.contactId).filter((id): id is string => Boolean(id));
      // Only an active enrolment's row goes out: a stop after the claim leaves the row out (it fails, unsent).
      const enrolments = (await uow.em.execute(
        `select e.contact_id, e.thread_message_id, e.thread_references, e.thread_subject,
                c.first_name, c.last_name, c.email, co.name as company_name,
                mb.id as mailbox_id, mb.name as mailbox_name,
                coalesce(mb.address, mb.local_part || '@' || lower(t.slug) || '.' || ?) as mailbox_address
           from sequence_enrolments e
           join contacts c on c.id = e.contact_id
           left join companies co on co.id = c.company_id
           left join mailboxes mb on mb.id = e.mailbox_id
           join tenants t on t.id = e.tenant_id
          where e.sequence_id = ? and e.contact_id = any(?::uuid[]) and e.status = 'active'
            and e.current_step_id = ?`,
        [this.#d.inboundDomain, st.sequence_id, `{${contactIds.join(',')}}`, stepId],
      )) as (Omit<EnrolmentRow, 'id'> & {
        first_name: string;
        last_name: string;
        email: string | null;
        company_name: string | null;
        mailbox_id: string | null;
        mailbox_name: string | null;
        mailbox_address: string | null;
      })[];
      const byContact = new Map(enrolments.map((e) => [e.contact_id, e]));
      const links = st.settings.trackClicks ? await this.#links(uow.em, tenantId, stepId, st.config.body) : null;
      const { publicUrl } = this.#d;
      for (const row of rows) {
        const e = row.contactId ? byContact.get(row.contactId) : undefined;
        // The row goes from the enrolment's pinned mailbox, never another.
        if (!e?.mailbox_address || !e.mailbox_id || e.mailbox_id !== row.mailboxId) continue;
        const values: MergeValues = {
          'contact.first_name': e.first_name,
          'contact.last_name': e.last_name,
          'contact.email': row.address,
          'company.name': e.company_name,
          'user.name': st.owner_name ?? e.mailbox_name,
          'mailbox.name': e.mailbox_name,
        };
        const merged = mergePieces(subject, values, { html: false })
          .replace(/[\r\n]+/g, ' ')
          .trim();
        const threaded = !st.config.newThread && e.thread_message_id && e.thread_subject;
        const subjectLine = threaded ? `Re: ${e.thread_subject}` : merged;
        const text = mergePieces(body, values, { html: false });
        const sign = this.#d.bulkTokens;
        let html = plainHtml(text, (url) => {
          const index = links?.get(url);
          return index === undefined
            ? undefined
            : `${publicUrl}/t/b/${sign.sign({ sendId: row.id, kind: 'click', index })}`;
        });
        if (st.settings.trackOpens ?? true) {
          const pixel = `${publicUrl}/t/b/${this.#d.bulkTokens.sign({ sendId: row.id, kind: 'open', index: 0 })}.gif`;
          html = html.replace('</body>', `<img src="${pixel}" width="1" height="1" alt="">\n</body>`);
        }
        const headers: Record<string, string> = {};
        if (threaded) {
          const refs = [e.thread_references, `<${e.thread_message_id}>`].filter(Boolean).join(' ');
          headers['In-Reply-To'] = `<${e.thread_message_id}>`;
          headers.References = refs;
        }
        out.set(row.id, {
          from: { name: e.mailbox_name ?? '', address: e.mailbox_address },
          subject: subjectLine,
          html,
          text,
          headers,
        });
        if (this.#sent.size >= MAX_KEPT) this.#sent.delete(this.#sent.keys().next().value!);
        this.#sent.set(row.id, {
          subject: subjectLine,
          baseSubject: threaded ? e.thread_subject! : baseOf(merged),
          from: e.mailbox_address,
        });
      }
      return out;
    });
  }

  /** The step's literal links as tracked links (`delivery_links`, indexes kept when the step's text changes). */
  async #links(em: EntityManager, tenantId: string, stepId: string, body: string): Promise<Map<string, number>> {
    const rows = (await em.execute(
      `select url, link_index from delivery_links where source = 'sequence' and source_id = ?`,
      [stepId],
    )) as { url: string; link_index: number }[];
    const out = new Map(rows.map((r) => [r.url, r.link_index]));
    let next = rows.reduce((a, r) => Math.max(a, r.link_index + 1), 0);
    for (const url of new Set(body.match(URL_RE) ?? [])) {
      if (out.has(url) || url.includes('{{')) continue;
      await em.execute(
        `insert into delivery_links (source, source_id, link_index, tenant_id, url) values ('sequence', ?, ?, ?, ?)
         on conflict do nothing`,
        [stepId, next, tenantId, url],
      );
      out.set(url, next++);
    }
    return out;
  }

  /** The enrolment keeps the thread (this Message-ID), `sequence.step_sent`, and its next step is due now. */
  async onSent(uow: UnitOfWork, stepId: string, rows: BulkRecipientRow[]): Promise<void> {
    const [step] = (await uow.em.execute(`select sequence_id, position from sequence_steps where id = ?`, [
      stepId,
    ])) as { sequence_id: string; position: number }[];
    if (!step) return;
    const seq = await loadSequence(uow, step.sequence_id);
    if (!seq) return;
    const now = new Date();
    for (const row of rows) {
      const sent = this.#sent.get(row.id);
      this.#sent.delete(row.id);
      const [e] = (await uow.em.execute(
        `select e.id, e.sequence_id, e.contact_id, c.company_id, e.address, e.current_step_id, e.step_entered_at,
                e.mailbox_id, e.time_zone, e.thread_message_id, e.thread_references, e.thread_subject
           from sequence_enrolments e join contacts c on c.id = e.contact_id
          where e.sequence_id = ? and e.contact_id = ? and e.status = 'active' and e.current_step_id = ?
          for update of e`,
        [step.sequence_id, row.contactId, stepId],
      )) as EnrolmentRow[];
      if (!e) continue;
      const config = seq.steps.find((s) => s.id === stepId)?.config;
      const newThread = config?.kind === 'email' && config.newThread;
      const references =
        !newThread && e.thread_message_id
          ? [e.thread_references, `<${e.thread_message_id}>`].filter(Boolean).join(' ').slice(-4000)
          : null;
      await uow.em.execute(
        `update sequence_enrolments set thread_message_id = ?, thread_references = ?, thread_subject = ?,
                last_sent_at = ?, updated_at = now()
          where id = ?`,
        [
          row.messageId,
          references,
          sent?.baseSubject ?? e.thread_subject ?? (config?.kind === 'email' ? config.subject : ''),
          now,
          e.id,
        ],
      );
      await recordEnrolments(uow, this.#d.activities, 'sequence.step_sent', [
        {
          ...e,
          sequence_name: seq.name,
          title: `Sequence “${seq.name}”: ${sent?.subject ?? 'email'} sent`,
          extra: { stepId, position: step.position, subject: sent?.subject ?? null, from: sent?.from ?? null },
        },
      ]);
      await enter(uow, this.#d.activities, seq, e, nextAfter(seq, step.position), now);
    }
  }
}
