import type { Writable } from 'node:stream';
import type { MikroORM } from '../../db/orm.ts';
import { HttpError } from '../http/errors.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { Spool } from '../../mail-gateway/spool.ts';
import { inTenant, requireRole, requireWrite, type Actor } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { Publisher } from '../timeline/publisher.ts';
import type { Logger } from '../logger.ts';
import { findContact } from './consent-admin.service.ts';
import type { ConsentService } from './consent.service.ts';
import { eraseContact } from './gdpr-erase.ts';
import { collectExport, presentFiles, type ExportFile } from './gdpr-export.ts';
import { ZipWriter } from './zip-writer.ts';
import { audit } from '../audit/record.ts';

/** A prepared export: the file name to offer and a writer of the archive. */
export interface PreparedExport {
  fileName: string;
  write(out: Writable): Promise<void>;
}

/** The data subject's rights on a contact: a copy of their data (export) and its erasure. Owners and admins only. */
export class GdprService {
  readonly #orm: MikroORM;
  readonly #consent: ConsentService;
  readonly #blobs: BlobStore;
  readonly #spool: Spool;
  readonly #activities: ActivitiesService;
  readonly #publisher: Publisher;
  readonly #log: Logger;

  constructor(deps: {
    orm: MikroORM;
    consent: ConsentService;
    blobs: BlobStore;
    spool: Spool;
    activities: ActivitiesService;
    publisher: Publisher;
    log: Logger;
  }) {
    this.#orm = deps.orm;
    this.#consent = deps.consent;
    this.#blobs = deps.blobs;
    this.#spool = deps.spool;
    this.#activities = deps.activities;
    this.#publisher = deps.publisher;
    this.#log = deps.log;
  }

  /** Reads everything in one transaction; the archive is streamed afterwards (`contact.json` and `files/`). */
  async prepareExport(actor: Actor, contactId: string): Promise<PreparedExport> {
    requireRole(actor, 'owner', 'admin');
    const { data, files, name } = await inTenant(this.#orm, actor, async (uow) => {
      const contact = await findContact(uow, contactId);
      const hash = contact.email ? this.#consent.hash('email', contact.email) : null;
      const found = await collectExport(uow, contact, hash);
      await audit(uow, {
        action: 'export.gdpr',
        targetType: 'contact',
        targetId: contactId,
        summary: "GDPR export of the contact's data",
      });
      return { ...found, name: `${contact.first_name} ${contact.last_name}` };
    });
    const slug =
      name
        .normalize('NFKD')
        .replace(/[^\w-]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 60) || 'contact';
    return {
      fileName: `${slug}-export.zip`,
      write: (out) =>
        this.#write(
          out,
          data,
          presentFiles(files, (k) => this.#blobs.path(k)),
        ),
    };
  }

  async #write(out: Writable, data: Record<string, unknown>, files: ExportFile[]): Promise<void> {
    const zip = new ZipWriter(out);
    await zip.add('contact.json', Buffer.from(JSON.stringify(data, null, 2)));
    for (const f of files) await zip.add(f.name, this.#blobs.open(f.blobKey));
    await zip.finish();
  }

  /**
   * Erases the contact in one transaction after a typed confirmation (their email or full name); their files and
   * raw mail are deleted once it has committed.
   */
  async erase(actor: Actor, contactId: string, confirm: string): Promise<void> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    const files = await inTenant(this.#orm, actor, async (uow) => {
      const contact = await findContact(uow, contactId);
      const [locked] = (await uow.em.execute(`select version from contacts where id = ? for update`, [contactId])) as {
        version: number;
      }[];
      const version = locked?.version ?? 0;
      const typed = confirm.trim().toLowerCase();
      const accepted = [contact.email, `${contact.first_name} ${contact.last_name}`]
        .filter((v): v is string => !!v?.trim())
        .map((v) => v.trim().toLowerCase());
      if (!accepted.includes(typed))
        throw new HttpError(400, 'confirmation_mismatch', 'Type the contact’s email or full name to erase it', {
          confirm: 'Does not match the contact',
        });
      await audit(uow, {
        action: 'contact.erased',
        targetType: 'contact',
        targetId: contactId,
        summary: 'Contact erased (GDPR): their data, files and raw mail were deleted',
      });
      const erased = await eraseContact(uow, contact, {
        activities: this.#activities,
        hash: (channel, address) => this.#consent.hash(channel, address),
      });
      uow.afterCommit(() =>
        this.#publisher.recordUpdated(actor.tenantId, {
          type: 'contact',
          id: contactId,
          changes: {},
          version: version + 1,
          deleted: true,
        }),
      );
      return erased;
    });
    const removals = [
      ...files.blobKeys.map((k) => this.#blobs.remove(k)),
      ...files.spoolKeys.map((k) => this.#spool.remove(k)),
    ];
    for (const r of await Promise.allSettled(removals))
      if (r.status === 'rejected') this.#log.warn({ err: r.reason }, 'an erased contact’s file could not be removed');
  }
}
