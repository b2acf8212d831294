import { z } from 'zod';
import { entityType } from '#contracts/common';
import type { Logger } from '../server/logger.ts';
import type { Actor } from '../server/tenancy.ts';
import { HttpError } from '../server/http/errors.ts';
import {
  rooms,
  type AckError,
  type InboxWatchAck,
  type PresenceUser,
  type PresenceState,
  type SimpleAck,
  type WatchAck,
  type WatchableType,
} from './events.ts';
import type { RealtimePort, RealtimeServer, RealtimeSocket } from './ports.ts';

const MAX_MISSED = 1000;
const MAX_WATCHED = 50;
const STATE_ORDER: PresenceState[] = ['replying', 'typing', 'viewing', 'idle'];

const target = z.object({ type: entityType, id: z.uuid() });
const watchPayload = target.extend({ since: z.number().int().min(0).optional() });
const presencePayload = target.extend({ state: z.enum(['viewing', 'typing', 'replying', 'idle']) });

const fail = (code: string, message: string): AckError => ({ ok: false, error: { code, message } });
const unauthorized = () => fail('unauthorized', 'This session has ended or lost access');
const noAck = () => undefined;

/** A client may send anything as its last argument: only a function is an acknowledgement. */
const replyOf = <T>(ack: unknown): ((res: T) => void) =>
  typeof ack === 'function' ? (ack as (res: T) => void) : noAck;

/** Leaves a record's room (and its presence list) from the server side. */
async function leaveRecord(io: RealtimeServer, socket: RealtimeSocket, room: string): Promise<void> {
  delete socket.data.presence[room];
  await socket.leave(room);
  await broadcastPresence(io, room);
}

/**
 * Brings a connected socket in line with its actor's current access: the role it reports, and only the
 * mailbox lists and conversations that actor may still see (a member taken off a mailbox, a demoted admin).
 */
export async function reauthorise(
  io: RealtimeServer,
  port: RealtimePort,
  socket: RealtimeSocket,
  actor: Actor,
): Promise<void> {
  const changed = socket.data.role !== actor.role || socket.data.userName !== actor.userName;
  socket.data.role = actor.role;
  socket.data.userName = actor.userName;
  const inboxes = [...socket.rooms].filter((r) => r.startsWith('inbox:'));
  if (inboxes.length) {
    const visible = new Set((await port.visibleMailboxes(actor)).map((id) => rooms.inbox(id)));
    for (const room of inboxes) if (!visible.has(room)) await socket.leave(room);
  }
  for (const room of [...socket.rooms]) {
    const record = parseRoom(room);
    if (record?.type !== 'conversation') continue;
    const seen = await port.activitiesOf(actor, 'conversation', record.id, Number.MAX_SAFE_INTEGER, 1).then(
      () => true,
      (err: unknown) => {
        if (err instanceof HttpError && err.status === 404) return false;
        throw err;
      },
    );
    if (!seen) await leaveRecord(io, socket, room);
  }
  // Last, once the rooms are right: the client learns who it is now.
  if (changed) {
    const { userId, userName, tenantId, role } = socket.data;
    socket.emit('session:ready', { userId, userName, tenantId, role });
  }
}

/** Whether a socket follows anything that mailbox visibility decides (re-checked when a mailbox's members change). */
export const followsMailboxes = (socket: RealtimeSocket) =>
  [...socket.rooms].some((r) => r.startsWith('inbox:') || r.startsWith('record:conversation:'));

const PRESENCE_CACHE_MS = 50;
const presenceCache = new WeakMap<RealtimeServer, Map<string, { at: number; users: Promise<PresenceUser[]> }>>();

/**
 * The room's presence, computed at most once per 50 ms per room: a burst of watchers joining one record
 * shares one cluster-wide fetchSockets() instead of each making its own (N joins would otherwise cost N²).
 */
export function presenceOf(io: RealtimeServer, room: string): Promise<PresenceUser[]> {
  const cache = presenceCache.get(io) ?? new Map<string, { at: number; users: Promise<PresenceUser[]> }>();
  presenceCache.set(io, cache);
  const hit = cache.get(room);
  if (hit && Date.now() - hit.at < PRESENCE_CACHE_MS) return hit.users;
  const users = fetchPresence(io, room);
  cache.set(room, { at: Date.now(), users });
  users
    .catch(() => cache.delete(room))
    .finally(() => setTimeout(() => cache.get(room)?.users === users && cache.delete(room), PRESENCE_CACHE_MS).unref());
  return users;
}

/** Everyone on a record's room across every node, one entry per user (their most engaged state). */
async function fetchPresence(io: RealtimeServer, room: string): Promise<PresenceUser[]> {
  // Redis away (or not answering in time): the sockets of this node, rather than no watch at all.
  const sockets = redisAway.has(io)
    ? await io.local.in(room).fetchSockets()
    : await io
        .in(room)
        .fetchSockets()
        .catch(() => io.local.in(room).fetchSockets());
  const byUser = new Map<string, PresenceUser>();
  for (const s of sockets) {
    const p = s.data.presence?.[room];
    if (!p) continue;
    const seen = byUser.get(s.data.userId);
    if (!seen || STATE_ORDER.indexOf(p.state) < STATE_ORDER.indexOf(seen.state))
      byUser.set(s.data.userId, { userId: s.data.userId, name: s.data.userName, state: p.state, since: p.since });
  }
  return [...byUser.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** A cached list may predate this socket's own join: it always sees itself. */
function withSelf(users: PresenceUser[], socket: RealtimeSocket, room: string): PresenceUser[] {
  const mine = socket.data.presence[room];
  if (!mine || users.some((u) => u.userId === socket.data.userId)) return users;
  const self = { userId: socket.data.userId, name: socket.data.userName, state: mine.state, since: mine.since };
  return [...users, self].sort((a, b) => a.name.localeCompare(b.name));
}

function parseRoom(room: string): { type: WatchableType; id: string } | null {
  const m = room.match(/^record:(company|contact|deal|conversation):(.+)$/);
  return m ? { type: m[1] as WatchableType, id: m[2]! } : null;
}

/** Servers shutting down: their sockets' disconnects must not reach for an adapter that is closing. */
export const closingServers = new WeakSet<RealtimeServer>();

/** Servers whose Redis is away: they serve their own sockets only until it returns. */
export const redisAway = new WeakSet<RealtimeServer>();

const PRESENCE_COALESCE_MS = 50;
const pending = new WeakMap<RealtimeServer, Map<string, Promise<void>>>();
const lastSent = new WeakMap<RealtimeServer, Map<string, string>>();

/**
 * Sends a room its presence list after a change. Changes within 50 ms are coalesced into one list, and a
 * list identical to the last one sent (another tab of a user already there) is not sent again: without this,
 * N sockets joining one record would cost N² messages.
 */
export function broadcastPresence(io: RealtimeServer, room: string): Promise<void> {
  const record = parseRoom(room);
  if (!record || closingServers.has(io)) return Promise.resolve();
  const queued = pending.get(io) ?? new Map<string, Promise<void>>();
  pending.set(io, queued);
  const existing = queued.get(room);
  if (existing) return existing;
  const run = new Promise<void>((resolve) => setTimeout(resolve, PRESENCE_COALESCE_MS)).then(async () => {
    queued.delete(room);
    if (closingServers.has(io)) return;
    // A list cached before this change (a join's ack moments ago) would broadcast the old state.
    presenceCache.get(io)?.delete(room);
    const users = await presenceOf(io, room);
    const signature = JSON.stringify(users.map((u) => [u.userId, u.state]));
    const sent = lastSent.get(io) ?? new Map<string, string>();
    lastSent.set(io, sent);
    if (sent.get(room) === signature) return;
    if (users.length) sent.set(room, signature);
    else sent.delete(room);
    // The server may have begun closing while presence was being gathered.
    if (closingServers.has(io)) return;
    io.to(room).emit('presence:update', { ...record, users });
  });
  queued.set(room, run);
  return run;
}

/**
 * record:watch / record:unwatch / presence:set, each payload validated, each watch authorised.
 * The listeners are made once per server and shared by every socket: Socket.io calls a listener with the
 * socket as `this`, so no socket needs closures of its own (four closures and their context, ~0.3 KB per socket).
 * Returns the function that attaches them to a socket.
 */
export function recordHandlers(io: RealtimeServer, port: RealtimePort, log: Logger) {
  const presenceFailed = (room: string) => (err: unknown) => log.warn({ err, room }, 'presence broadcast failed');

  /** The socket's actor now; null (after answering `unauthorized` and closing the socket) once access ended. */
  async function authorise<T>(socket: RealtimeSocket, reply: (res: T | AckError) => void): Promise<Actor | null> {
    const actor = await port.currentActor(socket.data);
    if (!actor) {
      reply(unauthorized());
      socket.disconnect(true);
      return null;
    }
    // A role changed without this node hearing of it: bring the socket's rooms in line first.
    if (actor.role !== socket.data.role) await reauthorise(io, port, socket, actor);
    return actor;
  }

  async function watch(this: RealtimeSocket, payload: unknown, ack?: unknown) {
    const reply = replyOf<WatchAck>(ack);
    const parsed = watchPayload.safeParse(payload);
    if (!parsed.success) return reply(fail('validation_failed', parsed.error.issues[0]?.message ?? 'invalid payload'));
    const { type, id, since } = parsed.data;
    const room = rooms.record(type, id);
    if (!this.rooms.has(room) && Object.keys(this.data.presence).length >= MAX_WATCHED)
      return reply(fail('too_many_watches', `A connection can watch at most ${MAX_WATCHED} records`));
    try {
      const actor = await authorise(this, reply);
      if (!actor) return;
      const after = since ?? Number.MAX_SAFE_INTEGER;
      const missed = await port.activitiesOf(actor, type, id, after, MAX_MISSED + 1);
      const lastSeq = since === undefined ? await port.lastSeq(actor) : null;
      if (!this.connected) return;
      await this.join(room);
      this.data.presence[room] = { state: 'viewing', since: new Date().toISOString() };
      const truncated = missed.length > MAX_MISSED;
      const ordered = missed.slice(0, MAX_MISSED);
      broadcastPresence(io, room).catch(presenceFailed(room));
      reply({
        ok: true,
        presence: withSelf(await presenceOf(io, room), this, room),
        missed: ordered,
        truncated,
        lastSeq: lastSeq ?? ordered.at(-1)?.seq ?? since ?? 0,
      });
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) return reply(fail('not_found', `No such ${type}`));
      log.error({ err }, 'record:watch failed');
      reply(fail('internal_error', 'Could not watch this record'));
    }
  }

  async function unwatch(this: RealtimeSocket, payload: unknown, ack?: unknown) {
    const reply = replyOf<SimpleAck>(ack);
    const parsed = target.safeParse(payload);
    if (!parsed.success) return reply(fail('validation_failed', 'invalid payload'));
    const room = rooms.record(parsed.data.type, parsed.data.id);
    delete this.data.presence[room];
    await this.leave(room);
    await broadcastPresence(io, room).catch(presenceFailed(room));
    reply({ ok: true });
  }

  async function setPresence(this: RealtimeSocket, payload: unknown, ack?: unknown) {
    const reply = replyOf<SimpleAck>(ack);
    const parsed = presencePayload.safeParse(payload);
    if (!parsed.success) return reply(fail('validation_failed', 'invalid payload'));
    const room = rooms.record(parsed.data.type, parsed.data.id);
    if (!this.data.presence[room]) return reply(fail('not_watching', 'Watch the record first'));
    try {
      if (!(await authorise(this, reply))) return;
    } catch (err) {
      log.error({ err }, 'presence:set failed');
      return reply(fail('internal_error', 'Could not set presence'));
    }
    // Re-authorising may have taken the socket off this record.
    const current = this.data.presence[room];
    if (!current) return reply(fail('not_watching', 'Watch the record first'));
    if (current.state !== parsed.data.state) {
      this.data.presence[room] = { state: parsed.data.state, since: new Date().toISOString() };
      await broadcastPresence(io, room).catch(presenceFailed(room));
    }
    reply({ ok: true });
  }

  /** Joins the list rooms of every mailbox this user sees (and leaves those no longer visible). */
  async function watchInbox(this: RealtimeSocket, _payload: unknown, ack?: unknown) {
    const reply = replyOf<InboxWatchAck>(ack);
    try {
      const actor = await authorise(this, reply);
      if (!actor) return;
      const visible = await port.visibleMailboxes(actor);
      const keep = new Set(visible.map((id) => rooms.inbox(id)));
      for (const room of this.rooms) if (room.startsWith('inbox:') && !keep.has(room)) await this.leave(room);
      if (visible.length && this.connected) await this.join([...keep]);
      reply({ ok: true, mailboxIds: visible });
    } catch (err) {
      log.error({ err }, 'inbox:watch failed');
      reply(fail('internal_error', 'Could not follow the inbox'));
    }
  }

  function disconnect(this: RealtimeSocket) {
    const watched = Object.keys(this.data.presence);
    this.data.presence = {};
    for (const room of watched) void broadcastPresence(io, room).catch(() => undefined);
  }

  return (socket: RealtimeSocket) => {
    socket.on('record:watch', watch);
    socket.on('record:unwatch', unwatch);
    socket.on('presence:set', setPresence);
    socket.on('inbox:watch', watchInbox);
    socket.on('disconnect', disconnect);
  };
}
