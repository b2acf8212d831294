import { Worker, type MessagePort } from 'node:worker_threads';

/** A task that ran past its budget of time or memory: its thread was terminated. */
export class TaskBudgetExceeded extends Error {
  readonly code = 'budget_exceeded';
}

/** A task whose function threw in its thread; `errorName` is the thrown error's name (RangeError for a stack overflow). */
export class TaskFailed extends Error {
  readonly errorName: string;

  constructor(message: string, errorName: string) {
    super(message);
    this.errorName = errorName;
  }
}

/** What a pool thread posts: once `ready`, then one reply per task. */
export type FromTaskThread =
  { type: 'ready' } | { type: 'done'; value: unknown } | { type: 'failed'; name: string; message: string };

interface Job {
  input: unknown;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  job: Job | null;
  timer: NodeJS.Timeout | undefined;
}

export interface ThreadPoolOptions {
  /** Threads running at once. */
  threads: number;
  /** Milliseconds one task may take once its thread is up; past it the thread is terminated. */
  budgetMs: number;
  /** The old-generation heap of one thread, in MB. */
  heapMb?: number;
}

/**
 * A small pool of threads (started when first needed) for CPU-bound work on user input, so that no input can stall
 * the event loop: each thread runs one task at a time and is terminated when the task outlasts its budget.
 */
export class ThreadPool<I, O> {
  readonly #url: URL;
  readonly #opts: ThreadPoolOptions;
  readonly #slots = new Set<Slot>();
  readonly #idle: Slot[] = [];
  readonly #queue: Job[] = [];

  constructor(url: URL, opts: ThreadPoolOptions) {
    this.#url = url;
    this.#opts = opts;
  }

  run(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ input, resolve: resolve as (value: unknown) => void, reject });
      this.#dispatch();
    });
  }

  #dispatch() {
    while (this.#queue.length) {
      const slot = this.#idle.pop() ?? (this.#slots.size < this.#opts.threads ? this.#spawn() : undefined);
      if (!slot) return;
      void this.#start(slot, this.#queue.shift()!);
    }
  }

  #spawn(): Slot {
    const worker = new Worker(this.#url, { resourceLimits: { maxOldGenerationSizeMb: this.#opts.heapMb ?? 256 } });
    worker.unref();
    const ready = new Promise<void>((resolve) => worker.once('message', () => resolve()));
    const slot: Slot = { worker, ready, job: null, timer: undefined };
    worker.on('message', (m: FromTaskThread) => {
      const job = slot.job;
      if (m.type === 'ready' || !job) return;
      clearTimeout(slot.timer);
      slot.job = null;
      if (m.type === 'done') job.resolve(m.value);
      else job.reject(new TaskFailed(m.message, m.name));
      this.#idle.push(slot);
      this.#dispatch();
    });
    worker.on('error', (err: Error & { code?: string }) =>
      this.#drop(
        slot,
        err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new TaskBudgetExceeded('the task ran out of its memory budget') : err,
      ),
    );
    worker.on('exit', () => this.#drop(slot, new Error('pool thread exited')));
    this.#slots.add(slot);
    return slot;
  }

  async #start(slot: Slot, job: Job) {
    slot.job = job;
    await slot.ready;
    if (slot.job !== job) return; // the thread died while starting
    // the budget starts once the thread is up, so that loading its modules is not counted
    slot.timer = setTimeout(
      () => this.#drop(slot, new TaskBudgetExceeded(`the task took more than its budget of ${this.#opts.budgetMs} ms`)),
      this.#opts.budgetMs,
    );
    slot.timer.unref();
    slot.worker.postMessage(job.input);
  }

  /** Terminates a thread, failing its task with `err`; a new thread takes the queue on. */
  #drop(slot: Slot, err: Error) {
    if (!this.#slots.delete(slot)) return;
    const i = this.#idle.indexOf(slot);
    if (i >= 0) this.#idle.splice(i, 1);
    clearTimeout(slot.timer);
    const job = slot.job;
    slot.job = null;
    job?.reject(err);
    void slot.worker.terminate();
    this.#dispatch();
  }

  /** Terminates every thread; running and queued tasks fail. */
  async close(): Promise<void> {
    const closed = new Error('thread pool closed');
    for (const job of this.#queue.splice(0)) job.reject(closed);
    await Promise.all([...this.#slots].map(async (slot) => this.#drop(slot, closed)));
  }
}

/** The body of a pool thread: runs `fn` on each input it is posted and posts the outcome back. */
export function serveTasks<I, O>(port: MessagePort, fn: (input: I) => O) {
  const post = (m: FromTaskThread) => port.postMessage(m);
  port.on('message', (input: I) => {
    try {
      post({ type: 'done', value: fn(input) });
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      post({ type: 'failed', name: e.name, message: e.message });
    }
  });
  post({ type: 'ready' });
}
