import { request } from '../api.ts';
import { upload } from '../upload.ts';

export interface ImportRowError {
  line: number;
  message: string;
  fields?: Record<string, string>;
}

export interface ImportJob {
  id: string;
  entityType: 'company' | 'contact';
  fileName: string;
  status: 'queued' | 'running' | 'completed' | 'failed';
  totalRows: number;
  processedRows: number;
  createdRows: number;
  errors: ImportRowError[];
  failure: string | null;
}

const POLL_MS = 500;

/** One CSV import: the upload's progress, then the job's, polled until it ends. */
export class CsvImport {
  uploadFraction = $state(0);
  job = $state<ImportJob | null>(null);
  error = $state<unknown>(null);
  busy = $state(false);
  #timer: ReturnType<typeof setTimeout> | undefined;

  get done() {
    return this.job?.status === 'completed' || this.job?.status === 'failed';
  }

  /** 0..1 over the whole import: the upload is the first tenth, the rows the rest. */
  get progress() {
    if (!this.job) return this.uploadFraction * 0.1;
    if (this.done) return 1;
    return 0.1 + (this.job.totalRows ? (0.9 * this.job.processedRows) / this.job.totalRows : 0);
  }

  async start(entityType: 'company' | 'contact', file: File) {
    this.stop();
    this.error = null;
    this.job = null;
    this.busy = true;
    this.uploadFraction = 0;
    const form = new FormData();
    form.append('entityType', entityType);
    form.append('file', file, file.name);
    try {
      this.job = await upload<ImportJob>('/api/crm/imports', form, (f) => (this.uploadFraction = f));
      this.#poll();
    } catch (err) {
      this.error = err;
      this.busy = false;
    }
  }

  #poll() {
    this.#timer = setTimeout(async () => {
      if (!this.job) return;
      try {
        this.job = await request<ImportJob>(`/api/crm/imports/${this.job.id}`);
      } catch (err) {
        this.error = err;
      }
      if (this.done || this.error) this.busy = false;
      else this.#poll();
    }, POLL_MS);
  }

  stop() {
    clearTimeout(this.#timer);
  }
}
