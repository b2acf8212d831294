import { LockMode } from '@mikro-orm/core';
import type { MikroORM } from '../../db/orm.ts';
import { NoteSchema, type Note } from '../../db/entities/note.entity.ts';
import { MembershipSchema } from '../../db/entities/membership.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { inTenant, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { NotificationsService } from '../timeline/notifications.service.ts';
import { KINDS, type RecordType, type RecordsService } from './records.service.ts';
import { isStale, lastChange, versionConflict } from './version-conflict.ts';

/** What notes are written on: a CRM record, or a kind registered with {@link NotesService.addTarget}. */
export type NoteEntityType = RecordType | 'conversation';

/** A kind of record outside the CRM core that takes notes (an inbox conversation). */
export interface NoteTarget {
  label: string;
  /** Throws a 404 unless the actor may see the record; its name for titles, and its company's timeline. */
  find(uow: UnitOfWork, id: string): Promise<{ name: string; companyId: string | null }>;
  /** Throws a 400 naming the mentioned users who could not see the record. */
  checkMentions?(uow: UnitOfWork, id: string, userIds: string[]): Promise<void>;
}

export interface NoteInput {
  entityType: NoteEntityType;
  entityId: string;
  content: string;
  noteType: Note['noteType'];
  isPinned: boolean;
  mentions: string[];
}

export type NotePatch = Partial<Pick<NoteInput, 'content' | 'noteType' | 'isPinned' | 'mentions'>> & {
  version?: number;
};

const excerpt = (markdown: string, max = 140) => {
  const plain = markdown
    .replace(/[#*_`>[\]()!~]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > max ? `${plain.slice(0, max - 1)}…` : plain;
};

/** A note's start for its timeline entry, still Markdown with its lines (lists, breaks), cut at a line's end. */
const markdownExcerpt = (markdown: string, max = 500) => {
  const text = markdown
    .replace(/\r\n?/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const lineEnd = cut.lastIndexOf('\n');
  return `${(lineEnd > max / 2 ? cut.slice(0, lineEnd) : cut).trimEnd()}…`;
};

/** Notes on any record; @mentions notify teammates in the same transaction as the note. */
export class NotesService {
  readonly #orm: MikroORM;
  readonly #records: RecordsService;
  readonly #activities: ActivitiesService;
  readonly #notifications: NotificationsService;
  readonly #targets = new Map<string, NoteTarget>();

  constructor(
    orm: MikroORM,
    records: RecordsService,
    activities: ActivitiesService,
    notifications: NotificationsService,
  ) {
    this.#orm = orm;
    this.#records = records;
    this.#activities = activities;
    this.#notifications = notifications;
  }

  /** Lets notes be written on another kind of record (registered once, at start-up). */
  addTarget(entityType: Exclude<NoteEntityType, RecordType>, target: NoteTarget): void {
    this.#targets.set(entityType, target);
  }

  /** The record a note is on: its name and company, or a 404 when it is not there for this actor. */
  async #locate(uow: UnitOfWork, entityType: string, entityId: string) {
    const target = this.#targets.get(entityType);
    if (target) return target.find(uow, entityId);
    const kind = KINDS[entityType as RecordType];
    if (!kind) throw notFound('Record');
    const record = await this.#records.find(uow, entityType as RecordType, entityId);
    return { name: kind.describe(record), companyId: kind.companyOf(record) };
  }

  list(actor: Actor, entityType: NoteEntityType, entityId: string): Promise<Note[]> {
    return inTenant(this.#orm, actor, async (uow) => {
      await this.#locate(uow, entityType, entityId);
      return uow.em.find(NoteSchema, { entityType, entityId }, { orderBy: { isPinned: 'desc', createdAt: 'desc' } });
    });
  }

  create(actor: Actor, input: NoteInput): Promise<Note> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      await this.#locate(uow, input.entityType, input.entityId);
      const mentions = await this.#members(uow, input.mentions);
      await this.#targets.get(input.entityType)?.checkMentions?.(uow, input.entityId, mentions);
      const note = uow.em.create(NoteSchema, {
        ...input,
        mentions,
        attachments: [],
        tenantId: actor.tenantId,
        createdBy: actor.userId,
      });
      await uow.em.flush();
      const where = await this.#onTimeline(uow, note, 'note.added', 'added', { mentions });
      await this.#notifyMentions(uow, note, mentions, [], where);
      return note;
    });
  }

  /** An edit made on `version` of the note: a stale one rolls back and answers 409 with the note as it is now. */
  async update(actor: Actor, id: string, { version, ...patch }: NotePatch): Promise<Note> {
    requireWrite(actor);
    try {
      return await inTenant(this.#orm, actor, async (uow) => {
        const note = await this.#editable(uow, id, version);
        const before = [...note.mentions];
        const mentions = patch.mentions ? await this.#members(uow, patch.mentions) : note.mentions;
        if (patch.mentions) await this.#targets.get(note.entityType)?.checkMentions?.(uow, note.entityId, mentions);
        uow.em.assign(note, { ...patch, mentions });
        await uow.em.flush();
        const where = await this.#onTimeline(uow, note, 'note.updated', 'edited', {});
        await this.#notifyMentions(uow, note, mentions, before, where);
        return note;
      });
    } catch (err) {
      if (!isStale(err)) throw err;
      throw await inTenant(this.#orm, actor, async (uow) => {
        const note = await this.#editable(uow, id);
        const trail = {
          entityType: note.entityType,
          entityId: note.entityId,
          activityTypes: ['note.added', 'note.updated'],
          noteId: note.id,
        };
        return versionConflict('Note', note, await lastChange(uow, trail, note.updatedAt));
      });
    }
  }

  remove(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const note = await this.#editable(uow, id);
      uow.em.remove(note);
      await uow.em.flush();
      await this.#onTimeline(uow, note, 'note.deleted', 'deleted', {});
    });
  }

  /** Writes the note's timeline entry on its record (and company); returns the record's name. */
  async #onTimeline(uow: UnitOfWork, note: Note, type: string, verb: string, data: Record<string, unknown>) {
    const record = await this.#locate(uow, note.entityType, note.entityId);
    const where = record.name;
    await this.#activities.record(uow, {
      entityType: note.entityType,
      entityId: note.entityId,
      companyId: record.companyId,
      type,
      title: `${uow.actor.userName} ${verb} a note on ${where}`,
      description: type === 'note.deleted' ? null : markdownExcerpt(note.content),
      data: { noteId: note.id, noteType: note.noteType, isPinned: note.isPinned, recordName: where, ...data },
    });
    return where;
  }

  /** The author, or an owner/admin, may change a note; with a `version`, only that version of it. */
  async #editable(uow: UnitOfWork, id: string, version?: number): Promise<Note> {
    const note = await uow.em.findOne(
      NoteSchema,
      { id },
      version === undefined
        ? { lockMode: LockMode.PESSIMISTIC_WRITE }
        : { lockMode: LockMode.OPTIMISTIC, lockVersion: version },
    );
    if (!note) throw notFound('Note');
    if (note.createdBy !== uow.actor.userId && uow.actor.role === 'member')
      throw new HttpError(403, 'forbidden', 'Only the author or an admin can change this note');
    return note;
  }

  /** Mentioned users must be members of this workspace. */
  async #members(uow: UnitOfWork, ids: string[]): Promise<string[]> {
    const unique = [...new Set(ids)];
    if (!unique.length) return [];
    const found = await uow.em.find(MembershipSchema, { tenant: uow.actor.tenantId, user: { $in: unique } } as never);
    const known = new Set(found.map((m) => (m.user as { id: string }).id));
    const unknown = unique.filter((id) => !known.has(id));
    if (unknown.length)
      throw new HttpError(400, 'validation_failed', 'Mentioned users must be members of this workspace', {
        mentions: `not members: ${unknown.join(', ')}`,
      });
    return unique;
  }

  async #notifyMentions(uow: UnitOfWork, note: Note, mentions: string[], already: string[], where: string) {
    const fresh = mentions.filter((id) => id !== uow.actor.userId && !already.includes(id));
    for (const userId of fresh) {
      await this.#notifications.create(uow, userId, {
        type: 'mention',
        title: `${uow.actor.userName} mentioned you on ${where}`,
        body: excerpt(note.content),
        entityType: note.entityType,
        entityId: note.entityId,
        noteId: note.id,
        data: { recordName: where },
      });
    }
  }
}
