import { PassThrough, type Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { AuthVerdicts, Envelope } from '../../../mail/authenticate.ts';
import type { MailClass } from '../../../mail/classify.ts';
import type { ParsedMail } from '../../../mail/parse.ts';
import type { sanitizeEmailHtml } from '../../../mail/sanitize.ts';

export interface ReadTask {
  /** The spool file. */
  path: string;
  /** The SMTP envelope; null for mail fetched over IMAP (no client IP, HELO or MAIL FROM: SPF says `none`). */
  envelope: Envelope | null;
  /** `cid:` images become this plus the encoded Content-ID (the URL of the message's attachment). */
  cidBase: string;
  /** DNS answers asked ahead for it (its sender domain's SPF and DMARC): the thread asks the main thread for no other. */
  dns?: KnownAnswer[];
}

/** A DNS answer (or its failure) already known when the message is handed to a reader. */
export type KnownAnswer = { name: string; rrtype: string } & (
  { ok: true; value: unknown } | { ok: false; error: Failure }
);

export interface ReadResult {
  auth: AuthVerdicts;
  /** As the write needs it: no header fields, no HTML before cleaning, no bounce or complaint reports. */
  mail: ParsedMail;
  kind: MailClass;
  /** The HTML part cleaned for display, null when there is none. */
  clean: ReturnType<typeof sanitizeEmailHtml> | null;
}

export interface ReadHooks {
  resolve(name: string, rrtype: string): Promise<unknown>;
  storeAttachment(
    meta: { fileName: string; contentType: string; cid: string | null; inline: boolean },
    content: Readable,
  ): Promise<{ size: number; stored: unknown }>;
}

type Failure = { message: string; code?: string };
export type ToReader =
  | { type: 'read'; task: ReadTask }
  | ({ type: 'answer'; id: number } & ({ ok: true; value: unknown } | { ok: false; error: Failure }))
  | { type: 'ack'; id: number };
export type FromReader =
  | { type: 'ready' }
  | { type: 'dns'; id: number; name: string; rrtype: string }
  | { type: 'attachment'; id: number; meta: Parameters<ReadHooks['storeAttachment']>[0] }
  | { type: 'chunk'; id: number; data: Uint8Array }
  | { type: 'end'; id: number }
  | { type: 'abort'; id: number; message: string }
  | { type: 'done'; result: ReadResult }
  | { type: 'failed'; message: string };

/** A message that took more than its budget: it is not tried again by itself (the same bytes would do the same). */
export class BudgetExceeded extends Error {
  readonly code = 'budget_exceeded';
}

/** The readers were shut down while a message was being read: it is still to be processed. */
export class ReadersClosed extends Error {
  readonly code = 'readers_closed';
}

interface Job {
  task: ReadTask;
  hooks: ReadHooks;
  resolve(result: ReadResult): void;
  reject(err: Error): void;
}

const WORKER_URL = new URL('./mail-reader.worker.ts', import.meta.url);

/** One thread and the message it is reading. */
class Reader {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  job: Job | null = null;
  readonly #streams = new Map<number, PassThrough>();
  readonly #stores = new Set<Promise<unknown>>();
  #done = false;
  readonly #onIdle: (reader: Reader) => void;
  readonly #onGone: (reader: Reader) => void;

  constructor(onIdle: (reader: Reader) => void, onGone: (reader: Reader) => void) {
    this.#onIdle = onIdle;
    this.#onGone = onGone;
    this.worker = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: 1024 } });
    this.worker.unref();
    this.ready = new Promise((resolve, reject) => {
      this.worker.once('message', () => resolve());
      this.worker.once('error', reject);
      this.worker.once('exit', () => reject(new Error('mail reader thread exited while starting')));
    });
    this.ready.catch(() => {});
    this.worker.on('message', (m: FromReader) => this.#message(m));
    this.worker.on(
      'error',
      (err: Error & { code?: string }) =>
        void this.end(
          err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new BudgetExceeded('processing ran out of its memory budget') : err,
        ),
    );
    this.worker.on('exit', () => void this.end(new Error('mail reader thread exited')));
  }

  start(job: Job) {
    this.job = job;
    this.#send({ type: 'read', task: job.task });
  }

  #send(message: ToReader) {
    if (!this.#done) this.worker.postMessage(message);
  }

  #message(m: FromReader) {
    const job = this.job;
    if (m.type === 'ready' || !job) return;
    switch (m.type) {
      case 'dns':
        job.hooks.resolve(m.name, m.rrtype).then(
          (value) => this.#send({ type: 'answer', id: m.id, ok: true, value }),
          (err: unknown) => this.#send({ type: 'answer', id: m.id, ok: false, error: failure(err) }),
        );
        break;
      case 'attachment': {
        const stream = new PassThrough();
        this.#streams.set(m.id, stream);
        const stored = job.hooks.storeAttachment(m.meta, stream).then(
          (value) => this.#send({ type: 'answer', id: m.id, ok: true, value }),
          (err: unknown) => this.#send({ type: 'answer', id: m.id, ok: false, error: failure(err) }),
        );
        this.#stores.add(stored);
        void stored.finally(() => {
          this.#stores.delete(stored);
          this.#streams.delete(m.id);
        });
        break;
      }
      case 'chunk':
        // the write's callback comes once the store took the chunk in: the thread sends the next one then
        this.#streams
          .get(m.id)
          ?.write(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength), () =>
            this.#send({ type: 'ack', id: m.id }),
          );
        break;
      case 'end':
        this.#streams.get(m.id)?.end();
        break;
      case 'abort':
        this.#streams.get(m.id)?.destroy(new Error(m.message));
        break;
      case 'done':
      case 'failed':
        this.job = null;
        if (m.type === 'done') job.resolve(m.result);
        else job.reject(new Error(m.message));
        this.#onIdle(this);
        break;
    }
  }

  /** Stops the thread; the message it was reading fails with `err` once its attachment stores have settled. */
  async end(err: Error) {
    if (this.#done) return;
    this.#done = true;
    const job = this.job;
    this.job = null;
    this.#onGone(this);
    await this.worker.terminate();
    // cut short, not broken: each store finishes and reports its blob, which the caller then removes
    for (const stream of this.#streams.values()) stream.end();
    await Promise.allSettled([...this.#stores]);
    job?.reject(err);
  }
}

export function failure(err: unknown): Failure {
  const e = err as { message?: unknown; code?: unknown };
  return {
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
  };
}

export interface MailReadersOptions {
  /** Threads reading at once. */
  threads: number;
  /**
   * Milliseconds of the thread's CPU one message may take. CPU, not the time its event loop is busy: on a machine
   * loaded by other work a thread waits for a core while busy, and a message failed for that would never be tried
   * again (the same bytes would take as long).
   */
  budgetMs: number;
  /** Milliseconds one message may take in all, waits for DNS and storage included. */
  wallMs: number;
}

/**
 * A small pool of mail reader threads (started when first needed). Each reads one message at a time under a budget
 * of busy time and of wall time: past either, the thread is terminated (which stops even a thread stuck in a loop)
 * and the message fails with BudgetExceeded. `close()` terminates every thread at once.
 */
export class MailReaders {
  readonly #opts: MailReadersOptions;
  readonly #readers = new Set<Reader>();
  readonly #idle: Reader[] = [];
  readonly #queue: Job[] = [];
  #closed = false;

  constructor(opts: MailReadersOptions) {
    this.#opts = opts;
  }

  read(task: ReadTask, hooks: ReadHooks): Promise<ReadResult> {
    if (this.#closed) return Promise.reject(new ReadersClosed('mail readers are shut down'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ task, hooks, resolve, reject });
      this.#dispatch();
    });
  }

  #dispatch() {
    while (this.#queue.length && !this.#closed) {
      let reader = this.#idle.pop();
      if (!reader) {
        if (this.#readers.size >= this.#opts.threads) return;
        reader = new Reader(
          (r) => {
            this.#idle.push(r);
            this.#dispatch();
          },
          (r) => {
            this.#readers.delete(r);
            const i = this.#idle.indexOf(r);
            if (i >= 0) this.#idle.splice(i, 1);
            // a replacement thread takes the queue on
            queueMicrotask(() => this.#dispatch());
          },
        );
        this.#readers.add(reader);
      }
      const job = this.#queue.shift()!;
      void this.#run(reader, job);
    }
  }

  async #run(reader: Reader, job: Job) {
    try {
      await reader.ready;
    } catch (err) {
      await reader.end(err as Error);
      job.reject(this.#closed ? new ReadersClosed('mail readers are shut down') : (err as Error));
      return;
    }
    const { budgetMs, wallMs } = this.#opts;
    const started = Date.now();
    const cpuMs = async () => {
      const { user, system } = await reader.worker.cpuUsage();
      return (user + system) / 1000;
    };
    let base: number;
    try {
      base = await cpuMs();
    } catch (err) {
      // the thread is gone already (it failed, or the readers were closed, since it was ready)
      await reader.end(err as Error);
      job.reject(this.#closed ? new ReadersClosed('mail readers are shut down') : (err as Error));
      return;
    }
    const settled = new Promise<void>((resolve) => {
      reader.start({
        ...job,
        resolve: (r) => (resolve(), job.resolve(r)),
        reject: (e) => (resolve(), job.reject(e)),
      });
    });
    const watch = setInterval(
      () => {
        if (reader.job === null) return;
        if (Date.now() - started > wallMs) {
          void reader.end(new BudgetExceeded(`processing not done after ${Math.round(wallMs / 1000)} s`));
          return;
        }
        cpuMs().then(
          (ms) => {
            if (reader.job !== null && ms - base > budgetMs)
              void reader.end(new BudgetExceeded(`processing took more than its budget of ${budgetMs} ms`));
          },
          // the thread ended meanwhile: its own handlers settle the message
          () => {},
        );
      },
      Math.max(10, Math.min(250, budgetMs / 5)),
    );
    watch.unref();
    await settled;
    clearInterval(watch);
  }

  /** Terminates every thread; messages being read fail with ReadersClosed, queued ones too. */
  async close(): Promise<void> {
    this.#closed = true;
    const closed = new ReadersClosed('mail readers are shut down');
    for (const job of this.#queue.splice(0)) job.reject(closed);
    await Promise.all([...this.#readers].map((r) => r.end(closed)));
  }
}
