import { ServerResponse, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import type { Logger } from '../server/logger.ts';
import { closingServers, recordHandlers, redisAway } from './record.handlers.ts';
import type { RealtimePort, RealtimeServer } from './ports.ts';
import { clientAddress } from '../server/auth/credential-limiter.ts';
import { rooms } from './events.ts';

export type { RealtimeServer, RealtimeSocket } from './ports.ts';

export interface Realtime {
  io: RealtimeServer;
  /** With REDIS_URL: whether both Redis clients are connected now (`down`: local sockets only, until it returns). */
  redis?: () => 'ok' | 'down';
  close(): Promise<void>;
}

/** Socket.io on the HTTP server: every connection is authenticated in the handshake by its session cookie. */
export async function createRealtime(
  httpServer: HttpServer,
  deps: {
    port: RealtimePort;
    log: Logger;
    redisUrl?: string | undefined;
    allowedOrigin: string;
    /** Told each time the Redis clients' state changes (what crossed nodes meanwhile may have been lost). */
    onRedisState?: () => void;
  },
): Promise<Realtime> {
  const log = deps.log.child({ component: 'realtime' });
  const io: RealtimeServer = new Server(httpServer, {
    path: '/socket.io',
    serveClient: false,
    // A connection that vanishes without a goodbye is dropped (and leaves presence lists) within 20 s.
    pingInterval: 10_000,
    pingTimeout: 10_000,
    cors: { origin: false },
    // Browsers send Origin on the WebSocket upgrade: refuse other sites riding on the session cookie.
    allowRequest: (req, callback) => {
      const origin = req.headers.origin;
      const own = `http${(req.socket as { encrypted?: boolean }).encrypted ? 's' : ''}://${req.headers.host}`;
      callback(null, !origin || origin === own || origin === deps.allowedOrigin);
    },
  });

  const redis = deps.redisUrl ? await attachRedis(io, deps.redisUrl, log, deps.onRedisState) : undefined;

  // engine.io keeps each connection's opening HTTP request (an IncomingMessage, ~2.5 KB with its raw headers)
  // as long as the connection lives, twice over WebSocket: as `socket.conn.request` and inside the stand-in
  // response of the upgrade. Filo reads the request only during the handshake (`socket.handshake` keeps the
  // headers), so the stand-in drops it here (nothing reads it after the engine middlewares) and the socket
  // drops it on connection, below.
  io.engine.use((_req: IncomingMessage, res: ServerResponse, next: () => void) => {
    if (!(res instanceof ServerResponse)) (res as { req?: unknown }).req = undefined;
    next();
  });

  io.use(async (socket, next) => {
    try {
      const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      // An API token is a credential like any: an address that keeps failing is held off.
      const ip = clientAddress(socket.handshake.address, socket.handshake.headers['x-forwarded-for']);
      if (typeof token === 'string' && !deps.port.credentials.allows(ip)) return next(new Error('rate_limited'));
      const auth = await deps.port.identify(
        typeof token === 'string' ? { token } : { cookie: socket.handshake.headers.cookie },
      );
      if (!auth) {
        if (typeof token === 'string') deps.port.credentials.failed(ip);
        return next(new Error('unauthorized'));
      }
      // A socket carries the events of every family the member sees (timeline, inbox, notifications): a token
      // granted only some families is for HTTP, where each route checks its family; a full or read token connects.
      if (auth.grants) return next(new Error('insufficient_scope'));
      socket.data = {
        userId: auth.user.id,
        userName: auth.user.name,
        tenantId: auth.tenant.id,
        role: auth.role,
        sessionId: auth.sessionId,
        via: auth.via,
        scope: auth.scope,
        presence: {},
      };
      await socket.join([rooms.tenant(auth.tenant.id), rooms.user(auth.tenant.id, auth.user.id)]);
      next();
    } catch (err) {
      log.error({ err }, 'socket handshake failed');
      next(new Error('unavailable'));
    }
  });

  const attachRecordHandlers = recordHandlers(io, deps.port, log);
  io.on('connection', (socket) => {
    const { userId, userName, tenantId, role } = socket.data;
    attachRecordHandlers(socket);
    // The handshake is built (and authenticated): the request is not read again (see io.engine.use above).
    (socket.conn as { request?: unknown }).request = undefined;
    socket.emit('session:ready', { userId, userName, tenantId, role });
  });

  return {
    io,
    ...(redis ? { redis: redis.state } : {}),
    async close() {
      closingServers.add(io);
      io.disconnectSockets(true);
      // io.close() would also close the HTTP server, which the lifecycle owns.
      io.engine.close();
      await redis?.close();
    },
  };
}

/**
 * The Redis adapter on a Socket.io server: its emits reach the sockets of every node. Returns how to stop
 * hearing other nodes and close the clients (gracefully, but never waiting on a Redis that does not answer).
 */
async function attachRedis(
  io: RealtimeServer,
  redisUrl: string,
  log: Logger,
  onState?: () => void,
): Promise<{ state(): 'ok' | 'down'; close(): Promise<void> }> {
  // Loaded only by nodes with a REDIS_URL: the client is most of a second of CPU at every start without one.
  const [{ createClient }, { createAdapter }] = await Promise.all([
    import('redis'),
    import('@socket.io/redis-adapter'),
  ]);
  // While Redis is away a publish fails at once instead of piling up to be replayed, stale, when it returns.
  const pub = createClient({ url: redisUrl, disableOfflineQueue: true });
  const sub = pub.duplicate({ disableOfflineQueue: false });
  for (const client of [pub, sub]) client.on('error', (err: Error) => log.warn({ err }, 'redis connection error'));
  await Promise.all([pub.connect(), sub.connect()]);
  // Without Redis the node serves its own sockets: cluster-wide reads (presence) read this node's alone.
  const track = () => {
    if (pub.isReady && sub.isReady) redisAway.delete(io);
    else redisAway.add(io);
    onState?.();
  };
  for (const client of [pub, sub])
    for (const event of ['ready', 'error', 'end', 'reconnecting']) client.on(event, track);
  // The adapter publishes and never looks at the result: while Redis is away those promises reject with no
  // handler. Mark them handled here (the client's 'error' listener already reports the outage).
  const publish = pub.publish.bind(pub);
  (pub as { publish: typeof publish }).publish = ((...args: Parameters<typeof publish>) => {
    const sent = publish(...args);
    sent.catch(() => undefined);
    return sent;
  }) as typeof publish;
  io.adapter(createAdapter(pub, sub));
  log.info('socket.io fan-out through Redis');
  return {
    state: () => (pub.isReady && sub.isReady ? 'ok' : 'down'),
    async close() {
      // Stop hearing other nodes (their fetchSockets requests, their broadcasts) before the clients close, so
      // that nothing answers on a closed client.
      io.of('/').adapter.close();
      const atMost = (p: Promise<unknown>) => Promise.race([p, new Promise((r) => setTimeout(r, 1_000).unref())]);
      await Promise.allSettled([atMost(sub.pUnsubscribe()), atMost(sub.unsubscribe())]);
      await Promise.allSettled(
        [pub, sub].map((c) =>
          Promise.race([c.close(), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]).finally(() =>
            c.destroy(),
          ),
        ),
      );
    },
  };
}

/**
 * For a node without the web role (a worker, an SMTP gateway): a Socket.io server with no HTTP server and no
 * sockets of its own, whose emits go through Redis to the web nodes' sockets. Without it, the live events of
 * the work such a node does (mail received, a call ended by its timeout, a reply sent) would reach nobody.
 */
export async function createRedisEmitter(redisUrl: string, log: Logger): Promise<Realtime> {
  const io: RealtimeServer = new Server();
  const redis = await attachRedis(io, redisUrl, log.child({ component: 'realtime' }));
  return {
    io,
    redis: redis.state,
    async close() {
      closingServers.add(io);
      await redis.close();
    },
  };
}
