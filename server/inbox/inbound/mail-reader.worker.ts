import { createReadStream, readFileSync, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { authenticate, type AuthVerdicts } from '../../../mail/authenticate.ts';
import { classify } from '../../../mail/classify.ts';
import { parseMail, type ParsedMail } from '../../../mail/parse.ts';
import { sanitizeEmailHtml } from '../../../mail/sanitize.ts';
import type { FromReader, ReadTask, ToReader } from './worker-pool.ts';

/**
 * A mail reader thread: authenticates, parses, classifies and cleans one spooled message at a time, away from the
 * event loop that serves HTTP, sockets and SMTP. DNS answers and attachment storage are asked of the main thread.
 */
const port = parentPort!;
const post = (message: FromReader, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);

let nextId = 0;
const waiting = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
const acks = new Map<number, () => void>();

function ask(id: number): Promise<unknown> {
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
}

function resolver(name: string, rrtype: string): Promise<unknown> {
  const id = nextId++;
  post({ type: 'dns', id, name, rrtype });
  return ask(id);
}

/** The task's answers known ahead first; any other name is asked of the main thread. */
function resolverFor(task: ReadTask) {
  const known = new Map((task.dns ?? []).map((a) => [`${a.rrtype} ${a.name.toLowerCase()}`, a]));
  return (name: string, rrtype: string): Promise<unknown> => {
    const a = known.get(`${rrtype} ${name.toLowerCase()}`);
    if (!a) return resolver(name, rrtype);
    // mailauth's checks may keep what they are given: each its own copy
    return a.ok
      ? Promise.resolve(structuredClone(a.value))
      : Promise.reject(Object.assign(new Error(a.error.message), { code: a.error.code }));
  };
}

/** Streams one attachment to the main thread, a chunk at a time, each sent once the previous one was taken. */
async function storeAttachment(
  meta: Parameters<Parameters<typeof parseMail>[1]['storeAttachment']>[0],
  content: Readable,
) {
  const id = nextId++;
  post({ type: 'attachment', id, meta });
  let settled = false;
  const result = ask(id).finally(() => (settled = true));
  const stopped = result.then(
    () => undefined,
    () => undefined,
  );
  try {
    for await (const chunk of content as AsyncIterable<Buffer>) {
      if (settled) break;
      const copy = new Uint8Array(chunk); // its own buffer, moved rather than copied across
      const taken = new Promise<void>((resolve) => acks.set(id, resolve));
      post({ type: 'chunk', id, data: copy }, [copy.buffer]);
      await Promise.race([taken, stopped]);
    }
    if (!settled) post({ type: 'end', id });
  } catch (err) {
    post({ type: 'abort', id, message: err instanceof Error ? err.message : String(err) });
  } finally {
    acks.delete(id);
    content.resume();
  }
  return (await result) as { size: number; stored: unknown };
}

/**
 * DKIM, DMARC and ARC of mail fetched over IMAP, from its headers alone. Without a client IP mailauth's SPF stops at
 * once (temperror, no DNS asked); no envelope means no SPF verdict at all, so it is recorded as `none`.
 */
async function authenticateFetched(raw: () => Readable | Buffer, resolve: typeof resolver): Promise<AuthVerdicts> {
  const auth = await authenticate(raw(), { ip: '', helo: '', mailFrom: '' }, { resolver: resolve });
  const details: Record<string, string> = { ...auth.details, spf: 'not checked: fetched over IMAP, no SMTP envelope' };
  delete details['spf.domain'];
  const ar = details['authentication-results'];
  if (ar) details['authentication-results'] = ar.replace(/;?\s*spf=[^;]*/, '');
  return { ...auth, spf: 'none', details };
}

/** Up to this size a message is read from its file once, into memory, for both passes; a larger one is streamed. */
const IN_MEMORY_BYTES = 1024 * 1024;

/**
 * The message's bytes for one pass: the same buffer each time when small, a new stream of the file otherwise. Read
 * with blocking calls: this thread does nothing else meanwhile, and they cost less than the promise round trips
 * through libuv's pool. (A spool file is never written again once queued: its size does not change in between.)
 */
function sourceOf(path: string): () => Readable | Buffer {
  if (statSync(path).size > IN_MEMORY_BYTES) return () => createReadStream(path);
  const bytes = readFileSync(path);
  return () => bytes;
}

/**
 * What the main thread writes from: the parsed message without what only this thread needed to authenticate,
 * classify and clean it (its header fields, its HTML before cleaning, the reports a bounce or complaint carries:
 * their verdicts travel in the class), so that less is copied across.
 */
function forWriting(mail: ParsedMail): ParsedMail {
  return { ...mail, html: null, headers: new Map(), deliveryStatus: null, returnedHeaders: null, feedbackReport: null };
}

async function read(task: ReadTask) {
  const raw = sourceOf(task.path);
  const resolve = resolverFor(task);
  const auth = task.envelope
    ? await authenticate(raw(), task.envelope, { resolver: resolve })
    : await authenticateFetched(raw, resolve);
  const bytes = raw();
  const mail = await parseMail(Buffer.isBuffer(bytes) ? Readable.from([bytes], { objectMode: false }) : bytes, {
    storeAttachment,
  });
  // no envelope: the null sender is read from Return-Path
  const kind = classify(mail, task.envelope ? { mailFrom: task.envelope.mailFrom } : {});
  let clean: ReturnType<typeof sanitizeEmailHtml> | null = null;
  if (mail.html) {
    const cids = new Set(mail.attachments.filter((a) => a.stored && a.cid).map((a) => a.cid));
    clean = sanitizeEmailHtml(mail.html, {
      cidUrl: (cid) => (cids.has(cid) ? `${task.cidBase}${encodeURIComponent(cid)}` : null),
    });
  }
  return { auth, mail: forWriting(mail), kind, clean };
}

port.on('message', (message: ToReader) => {
  switch (message.type) {
    case 'read':
      read(message.task).then(
        (result) => post({ type: 'done', result }),
        (err: unknown) => post({ type: 'failed', message: err instanceof Error ? err.message : String(err) }),
      );
      break;
    case 'answer': {
      const w = waiting.get(message.id);
      waiting.delete(message.id);
      if (!w) break;
      if (message.ok) w.resolve(message.value);
      else w.reject(Object.assign(new Error(message.error.message), { code: message.error.code }));
      break;
    }
    case 'ack':
      acks.get(message.id)?.();
      break;
  }
});
post({ type: 'ready' });
