/**
 * A child process holding Socket.io clients for bench/realtime.bench.ts, so that the servers' processes (and
 * the orchestrator) carry none of the clients' memory or CPU. Driven over IPC:
 *   { cmd: 'open', url, n, cookie?, watch? }  -> { opened: n }        connect (and record:watch) n sockets
 *   { cmd: 'listen', event, entityId? }       -> { listening: true }   record delivery latencies of event
 *   { cmd: 'count' }                          -> { count }             deliveries recorded so far
 *   { cmd: 'collect' }                        -> { latencies }         latencies in ms since the payload's time
 *   { cmd: 'close' }                          -> { closed: true }      disconnect every socket
 */
import { io as connect, type Socket } from 'socket.io-client';

type Msg =
  | { cmd: 'open'; url: string; n: number; cookie?: string; watch?: { type: string; id: string } }
  | { cmd: 'listen'; event: string; entityId?: string }
  | { cmd: 'count' }
  | { cmd: 'collect' }
  | { cmd: 'close' };

let sockets: Socket[] = [];
let latencies: number[] = [];

async function open(url: string, n: number, cookie?: string, watch?: { type: string; id: string }) {
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, async () => {
      const s = connect(url, {
        transports: ['websocket'],
        reconnection: false,
        ...(cookie ? { extraHeaders: { cookie } } : {}),
      });
      sockets.push(s);
      await new Promise<void>((resolve, reject) => {
        s.once('connect', () => resolve());
        s.once('connect_error', reject);
      });
      if (watch) {
        const ack = (await s.timeout(120_000).emitWithAck('record:watch', watch)) as { ok: boolean };
        if (!ack.ok) throw new Error(`record:watch refused: ${JSON.stringify(ack)}`);
      }
    });
    await Promise.all(batch);
  }
}

process.once('disconnect', () => process.exit(0));
process.on('message', (msg: Msg) => {
  void (async () => {
    if (msg.cmd === 'open') {
      await open(msg.url, msg.n, msg.cookie, msg.watch);
      process.send!({ opened: msg.n });
    } else if (msg.cmd === 'listen') {
      for (const s of sockets)
        s.on(msg.event, (p: { t?: number; createdAt?: string; entityId?: string }) => {
          if (msg.entityId && p.entityId !== msg.entityId) return;
          latencies.push(Date.now() - (p.t ?? Date.parse(p.createdAt!)));
        });
      process.send!({ listening: true });
    } else if (msg.cmd === 'count') {
      process.send!({ count: latencies.length });
    } else if (msg.cmd === 'collect') {
      process.send!({ latencies });
      latencies = [];
    } else {
      for (const s of sockets) s.disconnect();
      sockets = [];
      process.send!({ closed: true });
    }
  })().catch((err: unknown) => {
    process.stderr.write(`bench client: ${String(err)}\n`);
    process.exit(1);
  });
});
