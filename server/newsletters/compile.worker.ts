import { parentPort } from 'node:worker_threads';
import type { FromTaskThread } from '../workers/thread-pool.ts';
import { compileDocument, type CompileInput } from './compile.ts';

/** A compile thread: MJML, Markdown and sanitizing of a campaign away from the event loop (see compileOffThread). */
const post = (m: FromTaskThread) => parentPort!.postMessage(m);
parentPort!.on('message', (input: CompileInput) => {
  // mjml2html answers a Promise: the thread-pool protocol, with the outcome posted once it settles
  compileDocument(input).then(
    (value) => post({ type: 'done', value }),
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      post({ type: 'failed', name: e.name, message: e.message });
    },
  );
});
// Ready once MJML is loaded, so that its loading does not count against a document's time budget.
await import('mjml');
post({ type: 'ready' });
