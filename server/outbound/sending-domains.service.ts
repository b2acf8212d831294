import { LockMode } from '@mikro-orm/core';
import { randomBytes } from 'node:crypto';
import { dnsResolver } from '../net/dns.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { z } from 'zod';
import type { SendingDomain as SendingDomainView, sendingDomainInput } from '#contracts/outbound';
import type { MikroORM } from '../../db/orm.ts';
import { SendingDomainSchema, type SendingDomain } from '../../db/entities/sending-domain.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { Logger } from '../logger.ts';
import { authorOf, inTenant, requireRole, requireWrite, type Actor } from '../tenancy.ts';
import { audit, change } from '../audit/record.ts';

export { sendingDomainInput } from '#contracts/outbound';

/** TXT records of a name, each as its strings (a record may be split into several). */
export type TxtResolver = (name: string) => Promise<string[][]>;

export const VERIFICATION_PREFIX = 'filo-verification=';

export type SendingDomainDto = SendingDomainView;

const dto = (d: SendingDomain): SendingDomainDto => ({
  id: d.id,
  domain: d.domain,
  status: d.verifiedAt ? 'verified' : 'pending',
  verifiedAt: d.verifiedAt?.toISOString() ?? null,
  checkedAt: d.checkedAt?.toISOString() ?? null,
  lastError: d.lastError ?? null,
  record: { type: 'TXT', name: `_filo.${d.domain}`, value: `${VERIFICATION_PREFIX}${d.token}` },
  createdAt: d.createdAt.toISOString(),
});

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/**
 * Whether a mailbox of this workspace may send from `address`: its own inbound domain always; any other domain
 * (or a subdomain of it) only once verified, so that no workspace sends as `security@paypal.example`.
 */
export async function senderAllowed(em: EntityManager, address: string, ownDomain: string): Promise<boolean> {
  const domain = domainOf(address);
  if (domain === ownDomain) return true;
  const labels = domain.split('.');
  const candidates = labels.slice(0, -1).map((_, i) => labels.slice(i).join('.'));
  const found = await em.count(SendingDomainSchema, { domain: { $in: candidates }, verifiedAt: { $ne: null } });
  return found > 0;
}

/** The 400 for a sending address on a domain the workspace has not verified. */
export const senderNotVerified = (address: string) =>
  new HttpError(
    400,
    'sender_not_verified',
    `${domainOf(address)} is not a verified sending domain of this workspace: verify it in Settings first`,
    { address: 'the domain must be verified first (Settings, Sending domains)' },
  );

/** Domains a workspace sends from: added by admins, verified by a DNS TXT record carrying their token. */
export class SendingDomainsService {
  readonly #orm: MikroORM;
  readonly #inboundDomain: string;
  readonly #log: Logger | undefined;
  /** How TXT records are looked up (tests replace it with a stub that answers like DNS). */
  resolveTxt: TxtResolver;

  /** `dnsServers`: the name servers to ask (config `DNS_SERVERS`); none: the machine's. */
  constructor(orm: MikroORM, inboundDomain: string, log?: Logger, dnsServers: readonly string[] = []) {
    this.#orm = orm;
    this.#inboundDomain = inboundDomain;
    this.#log = log;
    const dns = dnsResolver(dnsServers, { timeout: 3000, tries: 2 });
    this.resolveTxt = (name) => dns.resolveTxt(name);
  }

  list(actor: Actor): Promise<SendingDomainDto[]> {
    return inTenant(this.#orm, actor, async ({ em }) =>
      (await em.find(SendingDomainSchema, {}, { orderBy: { domain: 'asc' } })).map(dto),
    );
  }

  /** `forUpdate`: read under the row's lock, so that concurrent checks land one after the other (one version each). */
  async #find(em: EntityManager, id: string, forUpdate = false): Promise<SendingDomain> {
    const row = await em.findOne(
      SendingDomainSchema,
      { id },
      forUpdate ? { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true } : {},
    );
    if (!row) throw notFound('Sending domain');
    return row;
  }

  add(actor: Actor, input: z.infer<typeof sendingDomainInput>): Promise<SendingDomainDto> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    const { domain } = input;
    if (domain === this.#inboundDomain || domain.endsWith(`.${this.#inboundDomain}`))
      throw new HttpError(400, 'validation_failed', 'Filo’s inbound domain needs no verification', {
        domain: 'is Filo’s own inbound domain',
      });
    return inTenant(this.#orm, actor, async ({ em }) => {
      if (await em.count(SendingDomainSchema, { domain }))
        throw new HttpError(409, 'domain_exists', `${domain} is already listed`, { domain: 'already listed' });
      const row = em.create(SendingDomainSchema, {
        tenantId: actor.tenantId,
        domain,
        token: randomBytes(24).toString('hex'),
        verifiedAt: null,
        checkedAt: null,
        lastError: null,
        createdBy: authorOf(actor),
      });
      await em.flush();
      await audit({ em, actor }, change('sending_domain.added', 'sending_domain', { id: row.id, name: domain }));
      return dto(row);
    });
  }

  /** Looks the token up in DNS (outside any transaction) and records the outcome; verified stays verified. */
  async verify(actor: Actor, id: string): Promise<SendingDomainDto> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    const { domain, token } = await inTenant(this.#orm, actor, async ({ em }) => await this.#find(em, id));
    const expected = `${VERIFICATION_PREFIX}${token}`;
    let found = false;
    for (const name of [`_filo.${domain}`, domain]) {
      try {
        const records = await this.resolveTxt(name);
        if (records.some((chunks) => chunks.join('').trim() === expected)) found = true;
      } catch (err) {
        this.#log?.debug({ err, name }, 'sending domain: TXT look-up failed');
      }
      if (found) break;
    }
    return inTenant(this.#orm, actor, async ({ em }) => {
      const row = await this.#find(em, id, true);
      row.checkedAt = new Date();
      if (found) {
        row.verifiedAt ??= new Date();
        row.lastError = null;
      } else if (!row.verifiedAt) {
        row.lastError = `No TXT record "${expected}" at _filo.${domain} or ${domain} yet`;
      }
      await em.flush();
      return dto(row);
    });
  }

  remove(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async ({ em }) => {
      const row = await this.#find(em, id);
      em.remove(row);
      await em.flush();
      await audit({ em, actor }, change('sending_domain.removed', 'sending_domain', { id, name: row.domain }));
    });
  }
}
