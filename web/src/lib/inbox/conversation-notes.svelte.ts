import { NotesList } from '#lib/crm/notes.svelte.ts';
import type { RecordType } from '#contracts/common';
import type { Note } from '#contracts/crm';
import { conversations } from './api.ts';

/**
 * Internal notes on a conversation: the CRM's notes (same editing, mentions and notifications), read and added
 * through the inbox's endpoints, which check that the conversation's mailbox is visible.
 */
export class ConversationNotes extends NotesList {
  readonly conversationId: string;

  constructor(conversationId: string) {
    // Notes keep their record's type: live note activities of this conversation match it.
    super('conversation' as RecordType, conversationId);
    this.conversationId = conversationId;
  }

  override async load(): Promise<void> {
    try {
      this.items = await conversations.notes(this.conversationId);
      this.error = null;
    } catch (err) {
      this.error = (err as Error).message;
    } finally {
      this.loading = false;
    }
  }

  override async add(input: Parameters<NotesList['add']>[0]): Promise<Note> {
    const note = await conversations.addNote(this.conversationId, {
      content: input.content,
      mentions: input.mentions ?? [],
      noteType: input.noteType,
      isPinned: input.isPinned,
    });
    await this.load();
    return note;
  }
}
