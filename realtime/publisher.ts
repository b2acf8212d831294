import type { ConversationChange } from '#contracts/inbox';
import type { Publisher } from '../server/timeline/publisher.ts';
import { rooms } from './events.ts';
import type { RealtimeServer } from './realtime.server.ts';

/** Turns service events into emits; with the Redis adapter they reach sockets on every node. */
export function socketPublisher(io: RealtimeServer): Publisher {
  return {
    activity(tenantId, activity, hiddenFrom) {
      const targets = [rooms.tenant(tenantId), rooms.record(activity.entityType, activity.entityId)];
      if (activity.companyId) targets.push(rooms.record('company', activity.companyId));
      // Mail on a contact's timeline also reaches whoever has its conversation open.
      if (typeof activity.data.conversationId === 'string' && activity.entityType !== 'conversation')
        targets.push(rooms.record('conversation', activity.data.conversationId));
      // Of a restricted mailbox: every room above, but no socket of a member who does not see that mailbox.
      const hidden = (hiddenFrom ?? []).map((userId) => rooms.user(tenantId, userId));
      const to = hidden.length ? io.to(targets).except(hidden) : io.to(targets);
      to.emit('activity:new', activity);
    },
    conversation(_tenantId, change) {
      // As JSON would carry it (contracts/inbox.ts): dates as ISO strings.
      io.to(rooms.inbox(change.mailboxId)).emit('conversation:updated', {
        ...change,
        status: change.status as ConversationChange['status'],
        snoozedUntil: change.snoozedUntil?.toISOString() ?? null,
        lastMessageAt: change.lastMessageAt.toISOString(),
      });
    },
    recordUpdated(_tenantId, update) {
      io.to(rooms.record(update.type, update.id)).emit('record:updated', update);
    },
    notification(tenantId, userId, notification, unread) {
      io.to(rooms.user(tenantId, userId)).emit('notification:new', { notification, unread });
    },
    accountHealth(tenantId, userIds, health) {
      if (userIds.length) io.to(userIds.map((id) => rooms.user(tenantId, id))).emit('account:health', health);
    },
    task(tenantId, change, hiddenFrom) {
      const hidden = (hiddenFrom ?? []).map((userId) => rooms.user(tenantId, userId));
      const room = io.to(rooms.tenant(tenantId));
      (hidden.length ? room.except(hidden) : room).emit('task:changed', change);
    },
    meeting(tenantId, userIds, meeting, removed) {
      if (userIds.length)
        io.to(userIds.map((id) => rooms.user(tenantId, id))).emit('meeting:updated', { meeting, removed });
    },
  };
}
