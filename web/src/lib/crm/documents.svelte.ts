import { ApiError } from '#lib/api.ts';
import { upload } from '#lib/upload.ts';
import type { RecordWatch } from '#lib/watch.svelte.ts';
import { documents as documentsApi } from './api.ts';
import type { RecordType } from '#contracts/common';
import type { CrmDocument, DocumentCategory } from '#contracts/crm';

export const MAX_UPLOAD_BYTES = 25 * 1024 * 1024;

export interface Upload {
  id: number;
  name: string;
  progress: number;
  error: string | null;
}

/** The documents of one record, with uploads in flight and their progress. */
export class DocumentsList {
  readonly entityType: RecordType;
  readonly entityId: string;
  items = $state<CrmDocument[]>([]);
  uploads = $state<Upload[]>([]);
  loading = $state(true);
  error = $state<string | null>(null);
  #next = 1;

  constructor(entityType: RecordType, entityId: string) {
    this.entityType = entityType;
    this.entityId = entityId;
  }

  async load(): Promise<void> {
    try {
      this.items = await documentsApi.list(this.entityType, this.entityId);
      this.error = null;
    } catch (err) {
      this.error = err instanceof ApiError ? err.message : String(err);
    } finally {
      this.loading = false;
    }
  }

  /** Uploads one file; its progress shows in `uploads` until it is done. Throws an `ApiError` on failure. */
  async upload(file: File, category: DocumentCategory, tooLarge: string): Promise<void> {
    const id = this.#next++;
    this.uploads = [...this.uploads, { id, name: file.name, progress: 0, error: null }];
    const patch = (p: Partial<Upload>) => (this.uploads = this.uploads.map((u) => (u.id === id ? { ...u, ...p } : u)));
    if (file.size > MAX_UPLOAD_BYTES) {
      patch({ error: tooLarge });
      return;
    }
    // Fields first: the server reads them before the file streams in.
    const form = new FormData();
    form.append('entityType', this.entityType);
    form.append('entityId', this.entityId);
    form.append('category', category);
    form.append('file', file);
    try {
      const doc = await upload<CrmDocument>('/api/crm/documents', form, (progress) => patch({ progress }));
      this.items = [doc, ...this.items.filter((d) => d.id !== doc.id)];
      this.uploads = this.uploads.filter((u) => u.id !== id);
    } catch (err) {
      patch({ error: err instanceof ApiError ? (err.status === 413 ? tooLarge : err.message) : String(err) });
    }
  }

  dismiss(id: number): void {
    this.uploads = this.uploads.filter((u) => u.id !== id);
  }

  async remove(id: string): Promise<void> {
    await documentsApi.remove(id);
    this.items = this.items.filter((d) => d.id !== id);
  }

  /** Follows the record's watch (documents added or removed by teammates, live or while offline). */
  start(watch: RecordWatch): () => void {
    return watch.onActivity((activity) => {
      if (!activity.type.startsWith('document.')) return;
      if (activity.entityType === this.entityType && activity.entityId === this.entityId) void this.load();
    });
  }
}
