import { affectsSockets, type AccessChange, type AccessPort } from '../server/auth/access.ts';
import type { Logger } from '../server/logger.ts';
import type { Actor } from '../server/tenancy.ts';
import { rooms } from './events.ts';
import type { RealtimePort, RealtimeServer, RealtimeSocket } from './ports.ts';
import { followsMailboxes, reauthorise } from './record.handlers.ts';

/**
 * Applies access changes to open sockets on every node: the change goes to the other nodes through the
 * adapter (`serverSideEmit`, which skips the sender) and is applied here too. Each node re-checks its own
 * sockets concerned against the database: those whose session, token or membership is gone are disconnected,
 * the others get their current role and leave the mailbox and conversation rooms they may no longer see.
 * A node without sockets (a worker's Redis emitter) only relays. `heard` is told of every change from another
 * node (the node's credential caches drop what it concerns; a web node hears them with or without sockets).
 */
export function socketAccess(
  io: RealtimeServer,
  port: RealtimePort,
  log: Logger,
  opts: { clustered: boolean; heard?: (change: AccessChange) => void },
): AccessPort & { heard(change: AccessChange): void } {
  /** This node's sockets that the change may concern: of the user in that workspace, of the workspace, or of the account. */
  function concerned({ tenantId, userId }: AccessChange): RealtimeSocket[] {
    const nsp = io.of('/');
    // Account-wide (a password): the user's sockets of every workspace; a rare change, one pass over this node.
    if (!tenantId) return userId ? [...nsp.sockets.values()].filter((s) => s.data.userId === userId) : [];
    const room = userId ? rooms.user(tenantId, userId) : rooms.tenant(tenantId);
    return [...(nsp.adapter.rooms.get(room) ?? [])].flatMap((id) => nsp.sockets.get(id) ?? []);
  }

  async function recheckHere(change: AccessChange): Promise<void> {
    if (!affectsSockets(change)) return;
    // Sockets of one session (several tabs) share one look-up.
    const lookups = new Map<string, Promise<Actor | null>>();
    await Promise.all(
      concerned(change).map(async (socket) => {
        if (change.reason === 'mailboxes_changed' && !followsMailboxes(socket)) return;
        const key = `${socket.data.via}:${socket.data.sessionId}`;
        const lookup = lookups.get(key) ?? port.currentActor(socket.data);
        lookups.set(key, lookup);
        try {
          const actor = await lookup;
          if (!actor) socket.disconnect(true);
          else await reauthorise(io, port, socket, actor);
        } catch (err) {
          // Unable to tell (the database is away): cut rather than leave access that may have ended.
          log.warn({ err, reason: change.reason }, 'socket access re-check failed: disconnecting');
          socket.disconnect(true);
        }
      }),
    );
  }

  /** Another node's change, through the adapter or (without Redis) PostgreSQL's NOTIFY. */
  function heard(change: AccessChange): void {
    opts.heard?.(change);
    void recheckHere(change);
  }

  io.on('access:changed', heard);
  return {
    heard,
    changed(change) {
      // A lone node's in-memory adapter has no other nodes (and warns on serverSideEmit).
      if (opts.clustered) io.serverSideEmit('access:changed', change);
      void recheckHere(change);
    },
  };
}
