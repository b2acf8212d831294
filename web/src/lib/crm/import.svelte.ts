import { ApiError, request } from '#lib/api.ts';
import { upload } from '#lib/upload.ts';
import { locale } from '#lib/i18n/index.svelte.ts';
import type { CrmImport as ImportJob, ImportType } from '#contracts/crm';
import type { ImportPreview, OnDuplicate } from '#contracts/crm-imports';

const POLL_MS = 500;
/** The preview needs only the header and the first rows: the start of the file is all that is sent for it. */
const PREVIEW_SLICE = 256 * 1024;

/**
 * One CSV import: the mapping step (the server reads the file's start and proposes a field per column), the file's
 * upload with the mapping (its progress from the browser), then the job's rows (polled every 500 ms) to the end.
 */
export class CsvImport {
  preview = $state<ImportPreview | null>(null);
  /** The target of each column (`null`: ignored), as the user leaves it. */
  mapping = $state<(string | null)[]>([]);
  onDuplicate = $state<OnDuplicate>('skip');
  reading = $state(false);
  /** 0..1 of the file sent. */
  uploadFraction = $state(0);
  uploading = $state(false);
  job = $state<ImportJob | null>(null);
  error = $state<unknown>(null);
  #timer: ReturnType<typeof setTimeout> | undefined;
  #abort: AbortController | undefined;

  get done(): boolean {
    return this.job?.status === 'completed' || this.job?.status === 'failed';
  }

  /** Uploading, or waiting for the rows. */
  get busy(): boolean {
    return this.uploading || (this.job !== null && !this.done && !this.error);
  }

  /** 0..1 of the rows processed (1 once the job has ended). */
  get rowsFraction(): number {
    if (!this.job) return 0;
    if (this.done) return 1;
    return this.job.totalRows ? this.job.processedRows / this.job.totalRows : 0;
  }

  /** Whether a column feeds the name (companies), or a full, first or last name (contacts). */
  get named(): boolean {
    const targets = this.mapping.filter(Boolean) as string[];
    return this.preview?.entityType === 'company' ? targets.includes('name') : targets.some((t) => /Name$/.test(t));
  }

  /** Sends the start of the file; the answer proposes a field per column. */
  async read(entityType: ImportType, file: File): Promise<void> {
    this.reset();
    this.reading = true;
    const form = new FormData();
    form.append('entityType', entityType);
    form.append('file', file.slice(0, PREVIEW_SLICE), file.name);
    try {
      const preview = await upload<ImportPreview>(`/api/crm/imports/preview?lang=${locale.lang}`, form, () => {});
      this.preview = preview;
      this.mapping = preview.columns.map((c) => c.field);
    } catch (err) {
      this.error = err;
    } finally {
      this.reading = false;
    }
  }

  /** Points column `index` at `target`; a field fed by another column leaves it (each field takes one column). */
  assign(index: number, target: string | null): void {
    this.mapping = this.mapping.map((t, i) => (i === index ? target : target !== null && t === target ? null : t));
  }

  /** The link to the rows not imported, as CSV with an error column in the interface's language. */
  get rejectedUrl(): string | null {
    return this.job?.errors.length
      ? `/api/crm/imports/${encodeURIComponent(this.job.id)}/rejected.csv?lang=${locale.lang}`
      : null;
  }

  async start(entityType: ImportType, file: File): Promise<void> {
    this.stop();
    this.error = null;
    this.job = null;
    this.uploading = true;
    this.uploadFraction = 0;
    const abort = new AbortController();
    this.#abort = abort;
    const form = new FormData();
    // The server reads the fields in order: the type must come before the file.
    form.append('entityType', entityType);
    if (this.preview) form.append('mapping', JSON.stringify(this.mapping));
    form.append('onDuplicate', this.onDuplicate);
    form.append('file', file, file.name);
    try {
      const job = await upload<ImportJob>('/api/crm/imports', form, (f) => (this.uploadFraction = f), abort.signal);
      if (abort.signal.aborted) return;
      this.job = job;
      this.#poll();
    } catch (err) {
      if (!abort.signal.aborted) this.error = err;
    } finally {
      if (this.#abort === abort) this.uploading = false;
    }
  }

  #poll(): void {
    this.#timer = setTimeout(async () => {
      const job = this.job;
      if (!job) return;
      try {
        this.job = await request<ImportJob>(`/api/crm/imports/${encodeURIComponent(job.id)}?lang=${locale.lang}`);
        this.error = null;
      } catch (err) {
        this.error = err;
        // A network blip: keep asking. Anything else (the job is gone, the session ended) stops here.
        if (!(err instanceof ApiError && err.status === 0)) return;
      }
      if (!this.done) this.#poll();
    }, POLL_MS);
  }

  /** Stops following (leaving the page); the import itself goes on on the server once uploaded. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#abort?.abort();
  }

  /** Back to the empty form. */
  reset(): void {
    this.stop();
    this.preview = null;
    this.mapping = [];
    this.job = null;
    this.error = null;
    this.uploading = false;
    this.uploadFraction = 0;
  }
}
