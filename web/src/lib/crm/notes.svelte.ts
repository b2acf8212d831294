import { ApiError } from '#lib/api.ts';
import type { RecordWatch } from '#lib/watch.svelte.ts';
import { notes as notesApi, type NoteInput } from './api.ts';
import type { RecordType } from '#contracts/common';
import type { Note } from '#contracts/crm';

/** The notes on one record, pinned first then newest; reloaded when a teammate adds, edits or deletes one. */
export class NotesList {
  readonly entityType: RecordType;
  readonly entityId: string;
  items = $state<Note[]>([]);
  loading = $state(true);
  error = $state<string | null>(null);
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(entityType: RecordType, entityId: string) {
    this.entityType = entityType;
    this.entityId = entityId;
  }

  async load(): Promise<void> {
    try {
      this.items = await notesApi.list(this.entityType, this.entityId);
      this.error = null;
    } catch (err) {
      this.error = err instanceof ApiError ? err.message : String(err);
    } finally {
      this.loading = false;
    }
  }

  async add(input: Omit<NoteInput, 'entityType' | 'entityId'>): Promise<Note> {
    const note = await notesApi.create({ ...input, entityType: this.entityType, entityId: this.entityId });
    this.#put(note);
    return note;
  }

  async update(
    id: string,
    patch: Partial<Omit<NoteInput, 'entityType' | 'entityId'>> & { version?: number },
  ): Promise<Note> {
    const note = await notesApi.update(id, patch);
    this.#put(note);
    return note;
  }

  async remove(id: string): Promise<void> {
    await notesApi.remove(id);
    this.items = this.items.filter((n) => n.id !== id);
  }

  #put(note: Note): void {
    const rest = this.items.filter((n) => n.id !== note.id);
    this.items = [note, ...rest].sort(
      (a, b) => Number(b.isPinned) - Number(a.isPinned) || b.createdAt.localeCompare(a.createdAt),
    );
  }

  /** Follows the record's watch (live notes, and those missed while offline); returns the teardown. */
  start(watch: RecordWatch): () => void {
    const off = watch.onActivity((activity) => {
      // A call's automatic note and its transcript arrive with the meeting's activities.
      if (!activity.type.startsWith('note.') && !activity.type.startsWith('meeting.')) return;
      // A company's watch also hears its contacts' and deals' notes, which are not on this list.
      if (activity.entityType !== this.entityType || activity.entityId !== this.entityId) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.load(), 150);
    });
    return () => {
      clearTimeout(this.#timer);
      off();
    };
  }
}
