/**
 * Runs a server module (bench/lib/bare-io.ts or server/main.ts) with a memory probe on the IPC channel, so
 * that the bench reads the server's own memory after a forced GC. Needs `node --expose-gc`.
 *   node --expose-gc bench/realtime/probe.ts <module> [args...]
 * Messages: { cmd: 'memory' } -> { memory: NodeJS.MemoryUsage }; { cmd: 'snapshot', file } -> { snapshot }.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';

type GcOptions = { type: 'major'; execution: 'sync'; flavor: 'last-resort' };
const gc = (globalThis as { gc?: (opts: GcOptions) => void }).gc;
if (!gc) throw new Error('run the probe with node --expose-gc');

/**
 * Several full collections (weak references and finalizers cleared by one are reclaimed by the next), of the
 * memory-reducing kind ('last-resort': compacts and hands free pages back), so that RSS and heap total count
 * what is live rather than the slack a burst of connections left behind.
 */
async function settle() {
  for (let i = 0; i < 4; i++) {
    gc!({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    await new Promise((resolve) => setImmediate(resolve));
  }
}

process.on('message', (msg: { cmd: string; file?: string }) => {
  void (async () => {
    await settle();
    if (msg.cmd === 'memory') process.send!({ memory: process.memoryUsage() });
    if (msg.cmd === 'snapshot') process.send!({ snapshot: writeHeapSnapshot(msg.file) });
  })();
});
// The IPC channel must not keep a server alive that is shutting down, and a server outlives no bench.
process.channel?.unref();
process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));

// The module sees its own argv, as if started directly.
const target = path.resolve(process.argv[2]!);
process.argv.splice(1, 1);
await import(pathToFileURL(target).href);
