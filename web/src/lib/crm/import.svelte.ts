import { ApiError, request } from '#lib/api.ts';
import { upload } from '#lib/upload.ts';
import type { CrmImport as ImportJob, ImportType } from '#contracts/crm';

const POLL_MS = 500;

/**
 * One CSV import: the file's upload (its progress from the browser), then the job's rows (polled every 500 ms
 * from the server) until it completes or fails.
 */
export class CsvImport {
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
        this.job = await request<ImportJob>(`/api/crm/imports/${encodeURIComponent(job.id)}`);
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
    this.job = null;
    this.error = null;
    this.uploading = false;
    this.uploadFraction = 0;
  }
}
