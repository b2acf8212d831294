import type { EntityManager } from '@mikro-orm/postgresql';
import type { Preflight, StepConfig } from '#contracts/sequences';
import { MailboxSchema, type Mailbox } from '../../../db/entities/mailbox.entity.ts';
import { SequenceSchema, SequenceStepSchema } from '../../../db/entities/sequence.entity.ts';
import type { MikroORM } from '../../../db/orm.ts';
import type { Secrets } from '../../crypto/secrets.ts';
import { dkimOf, domainOf } from '../../delivery/transport-settings.ts';
import { notFound } from '../../http/errors.ts';
import type { Logger } from '../../logger.ts';
import type { MergeValues } from '../../newsletters/merge.ts';
import { inTenant, type Actor } from '../../tenancy.ts';
import { checkDomain, systemResolver, type DomainSender, type PreflightResolver } from './dns.ts';
import { messageOf, PLACEHOLDER, renderSteps, tokenGaps } from './render.ts';
import type { SpamChecker } from './spam.ts';

type EmailConfig = Extract<StepConfig, { kind: 'email' }>;

/** A result is reused this long for one version of a sequence (the checks do network work). */
export const PREFLIGHT_CACHE_MS = 60_000;

interface Loaded {
  key: string;
  steps: { id: string; config: EmailConfig }[];
  senders: Map<string, DomainSender[]>;
  sample: { values: MergeValues; to: string; from: string; domain: string };
  tokenProblems: Map<string, string[]>;
}

/**
 * Deliverability before launch: each sending domain of the sequence's pool (SPF for the host that sends, DKIM
 * against the key Filo signs with, DMARC), each email step's spam score for a sample prospect, and the tokens
 * enrolled prospects have no value for.
 */
export class SequencePreflight {
  readonly #orm: MikroORM;
  readonly #secrets: Secrets;
  readonly #inboundDomain: string;
  readonly #relayHost: string | null;
  readonly #log: Logger | undefined;
  readonly #cache = new Map<string, { at: number; result: Preflight }>();
  /** DNS for the checks; tests give a local one. */
  resolver: PreflightResolver;
  /** The configured spam checker (null: none, the steps get no score). */
  spam: SpamChecker | null;

  constructor(deps: {
    orm: MikroORM;
    secrets: Secrets;
    inboundDomain: string;
    relayUrl: string | undefined;
    spam: SpamChecker | null;
    log?: Logger;
    /** Name servers to ask (config `DNS_SERVERS`); none: the machine's. */
    dnsServers?: readonly string[];
  }) {
    this.#orm = deps.orm;
    this.#secrets = deps.secrets;
    this.#inboundDomain = deps.inboundDomain;
    this.#relayHost = deps.relayUrl ? new URL(deps.relayUrl).hostname.replace(/^\[|\]$/g, '') : null;
    this.spam = deps.spam;
    this.#log = deps.log;
    this.resolver = systemResolver(deps.dnsServers);
  }

  async run(actor: Actor, sequenceId: string): Promise<Preflight> {
    const loaded = await inTenant(this.#orm, actor, ({ em }) => this.#load(em, actor.tenantId, sequenceId));
    const key = `${actor.tenantId}:${loaded.key}:${this.spam?.engine ?? 'none'}`;
    const hit = this.#cache.get(key);
    if (hit && Date.now() - hit.at < PREFLIGHT_CACHE_MS) return hit.result;

    const rendered = renderSteps(loaded.steps, loaded.sample.values);
    const [domains, steps] = await Promise.all([
      Promise.all(
        [...loaded.senders].map(async ([domain, senders]) => ({
          domain,
          ...(await checkDomain(this.resolver, domain, senders)),
        })),
      ),
      Promise.all(
        loaded.steps.map(async ({ id }) => {
          const step = rendered.get(id)!;
          const { from, to, domain } = loaded.sample;
          const spam = this.spam ? await this.spam.check(await messageOf(step, from, to, domain)) : null;
          if (this.spam && !spam) this.#log?.warn({ engine: this.spam.engine }, 'preflight: no spam score');
          return { stepId: id, spam, tokenProblems: [...step.errors, ...(loaded.tokenProblems.get(id) ?? [])] };
        }),
      ),
    ]);
    const result = { domains, steps };
    if (this.#cache.size > 1_000) this.#cache.clear();
    this.#cache.set(key, { at: Date.now(), result });
    return result;
  }

  /** The sequence, its email steps, its pool's senders per domain and the sample prospect, read in one transaction. */
  async #load(em: EntityManager, tenantId: string, id: string): Promise<Loaded> {
    const sequence = await em.findOne(SequenceSchema, { id });
    if (!sequence) throw notFound('Sequence');
    const rows = await em.find(
      SequenceStepSchema,
      { sequenceId: id, deletedAt: null },
      { orderBy: { position: 'asc' } },
    );
    const steps = rows.flatMap((s) => (s.config.kind === 'email' ? [{ id: s.id, config: s.config }] : []));
    const stepsAt = Math.max(0, ...rows.map((s) => s.updatedAt.getTime()));
    const [tenant] = (await em.execute(`select slug from tenants where id = ?`, [tenantId])) as { slug: string }[];
    const pool = sequence.mailboxIds.length ? await em.find(MailboxSchema, { id: { $in: sequence.mailboxIds } }) : [];
    const fromOf = (m: Mailbox) => m.address ?? `${m.localPart}@${tenant!.slug}.${this.#inboundDomain}`;

    const senders = new Map<string, DomainSender[]>();
    for (const m of pool) {
      const from = fromOf(m);
      let dkim: DomainSender['dkim'] = null;
      try {
        const signing = dkimOf(m, from, this.#secrets);
        if (signing) dkim = { selector: signing.keySelector, privateKey: signing.privateKey };
      } catch (err) {
        this.#log?.warn({ err, mailboxId: m.id }, 'preflight: the DKIM key cannot be read');
      }
      const list = senders.get(domainOf(from)) ?? [];
      list.push({ smtpHost: m.smtpHost ?? this.#relayHost, dkim, mailboxName: m.name });
      senders.set(domainOf(from), list);
    }

    const [first] = (await em.execute(
      `select c.first_name, c.last_name, e.address, co.name as company, e.mailbox_id
         from sequence_enrolments e join contacts c on c.id = e.contact_id
         left join companies co on co.id = c.company_id
        where e.sequence_id = ? order by e.created_at, e.id limit 1`,
      [id],
    )) as {
      first_name: string;
      last_name: string;
      address: string;
      company: string | null;
      mailbox_id: string | null;
    }[];
    const [owner] = sequence.ownerId
      ? ((await em.execute(`select name from users where id = ?`, [sequence.ownerId])) as { name: string }[])
      : [];
    const mailbox = pool.find((m) => m.id === first?.mailbox_id) ?? pool[0];
    const from = mailbox ? fromOf(mailbox) : `sequences@${tenant!.slug}.${this.#inboundDomain}`;
    const values: MergeValues = first
      ? {
          'contact.first_name': first.first_name,
          'contact.last_name': first.last_name,
          'contact.email': first.address,
          'company.name': first.company,
        }
      : { ...PLACEHOLDER };
    values['user.name'] = owner?.name ?? null;
    values['mailbox.name'] = mailbox?.name ?? null;
    const [counted] = (await em.execute(
      `select count(*)::int as n, max(updated_at) as at from sequence_enrolments where sequence_id = ?`,
      [id],
    )) as { n: number; at: Date | null }[];

    return {
      key: `${id}:${sequence.version}:${stepsAt}:${counted?.n ?? 0}:${counted?.at ? new Date(counted.at).getTime() : 0}`,
      steps,
      senders,
      sample: { values, to: first?.address ?? String(PLACEHOLDER['contact.email']), from, domain: domainOf(from) },
      tokenProblems: await tokenGaps(em, id, steps),
    };
  }
}
