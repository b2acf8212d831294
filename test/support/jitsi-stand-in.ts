import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';

/** A participant as the stand-in saw them join: the claims of the JWT their page presented. */
export interface StandInJoin {
  room: string;
  id: string;
  name: string;
  claims: Record<string, unknown>;
}

export interface JitsiStandIn {
  /** `http://127.0.0.1:<port>`, for JITSI_DOMAIN. */
  url: string;
  joins: StandInJoin[];
  /** Who is in each room right now. */
  rooms: Map<string, Map<string, { name: string }>>;
  /** Refused connections and joins, with why. */
  refusals: string[];
  /** While true the library answers 503, as a deployment that is down or unreachable would. */
  libraryFails: boolean;
  close(): Promise<void>;
}

const LIB = readFileSync(path.join(import.meta.dirname, 'jitsi-stand-in/lib-jitsi-meet.js'), 'utf8');

/** Checks an HS256 JWT as prosody's token authentication would: signature, audience, issuer, expiry, room. */
function verifyJwt(token: unknown, opts: { appId: string; secret: string; room: string }): Record<string, unknown> {
  if (typeof token !== 'string') throw new Error('no token');
  const [h, p, s] = token.split('.');
  if (!h || !p || !s) throw new Error('malformed token');
  const expected = createHmac('sha256', opts.secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Error('bad signature');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  if (header.alg !== 'HS256') throw new Error('not HS256');
  if (claims.aud !== 'jitsi' || claims.iss !== opts.appId) throw new Error('wrong audience or issuer');
  if (typeof claims.exp !== 'number' || claims.exp * 1000 < Date.now()) throw new Error('expired');
  if (claims.room !== '*' && claims.room !== opts.room) throw new Error(`token for room ${String(claims.room)}`);
  return claims;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

/**
 * A local stand-in for a Jitsi deployment with token authentication: it serves `/libs/lib-jitsi-meet.min.js`
 * (the stand-in library) and relays signalling between the browsers in a room; media goes browser to browser.
 */
export async function startJitsiStandIn(opts: { appId: string; secret: string }): Promise<JitsiStandIn> {
  const joins: StandInJoin[] = [];
  const refusals: string[] = [];
  const rooms = new Map<string, Map<string, { name: string }>>();
  /** Per participant: the open event stream, or what waits for it. */
  const streams = new Map<string, { res: ServerResponse | null; queue: unknown[] }>();
  const standIn = { libraryFails: false } as JitsiStandIn;

  const deliver = (id: string, event: unknown) => {
    const stream = streams.get(id);
    if (!stream) return;
    if (stream.res) stream.res.write(`data: ${JSON.stringify(event)}\n\n`);
    else stream.queue.push(event);
  };
  const broadcast = (room: string, except: string, event: unknown) => {
    for (const id of rooms.get(room)?.keys() ?? []) if (id !== except) deliver(id, event);
  };
  const leave = (room: string, id: string) => {
    if (!rooms.get(room)?.delete(id)) return;
    streams.get(id)?.res?.end();
    streams.delete(id);
    broadcast(room, id, { type: 'left', id });
  };

  const server = createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const handle = async () => {
      if (req.method === 'OPTIONS') {
        res.writeHead(204, {
          'Access-Control-Allow-Methods': 'GET, POST',
          'Access-Control-Allow-Headers': 'content-type',
        });
        return res.end();
      }
      if (req.method === 'GET' && url.pathname === '/libs/lib-jitsi-meet.min.js') {
        if (standIn.libraryFails) return json(503, { error: 'the video service is down' });
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
        return res.end(LIB);
      }
      if (req.method === 'POST' && url.pathname === '/relay/connect') {
        const body = await readJson(req);
        const hosts = body.hosts as { domain?: string; muc?: string } | undefined;
        if (hosts?.domain !== '127.0.0.1' || hosts.muc !== 'conference.127.0.0.1') {
          refusals.push(`connect: unexpected hosts ${JSON.stringify(hosts)}`);
          return json(400, { error: 'unknown XMPP domain' });
        }
        return json(200, { ok: true });
      }
      if (req.method === 'POST' && url.pathname === '/relay/join') {
        const body = await readJson(req);
        const room = String(body.room);
        let claims: Record<string, unknown>;
        try {
          claims = verifyJwt(body.token, { ...opts, room });
        } catch (err) {
          refusals.push(`join ${room}: ${(err as Error).message}`);
          return json(403, { error: (err as Error).message });
        }
        const id = randomUUID().slice(0, 8);
        const name = String(body.name ?? '');
        const members = rooms.get(room) ?? new Map<string, { name: string }>();
        rooms.set(room, members);
        const others = [...members].map(([otherId, m]) => ({ id: otherId, name: m.name }));
        members.set(id, { name });
        streams.set(id, { res: null, queue: [] });
        joins.push({ room, id, name, claims });
        broadcast(room, id, { type: 'joined', id, name });
        return json(200, { id, others });
      }
      if (req.method === 'GET' && url.pathname === '/relay/events') {
        const room = url.searchParams.get('room') ?? '';
        const id = url.searchParams.get('id') ?? '';
        const stream = streams.get(id);
        if (!stream || !rooms.get(room)?.has(id)) return json(404, { error: 'not in the room' });
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
        res.write(': connected\n\n');
        stream.res = res;
        for (const event of stream.queue.splice(0)) deliver(id, event);
        // A closed page (tab gone, browser closed) leaves the room, as it would drop its XMPP session.
        req.on('close', () => {
          if (streams.get(id)?.res === res) leave(room, id);
        });
        return;
      }
      if (req.method === 'POST' && url.pathname === '/relay/send') {
        const body = await readJson(req);
        const room = String(body.room);
        const from = String(body.from);
        if (!rooms.get(room)?.has(from)) return json(404, { error: 'not in the room' });
        const event = { ...(body.message as object), from };
        if (typeof body.to === 'string') deliver(body.to, event);
        else broadcast(room, from, event);
        return json(200, { ok: true });
      }
      if (req.method === 'POST' && url.pathname === '/relay/leave') {
        const body = await readJson(req);
        leave(String(body.room), String(body.id));
        return json(200, { ok: true });
      }
      json(404, { error: 'not found' });
    };
    handle().catch((err: unknown) => json(500, { error: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  Object.assign(standIn, {
    url: `http://127.0.0.1:${port}`,
    joins,
    rooms,
    refusals,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of streams.values()) s.res?.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
  return standIn;
}
