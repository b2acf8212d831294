/** What services announce after commit. The realtime module turns these into Socket.io emits. */
import type { Activity, Notification } from '#contracts/timeline';
import type { AccountHealth } from '#contracts/accounts';
import type { Meeting } from '#contracts/meetings';

/** An activity and a notification as they travel (contracts/timeline.ts): dates are ISO strings already. */
export type ActivityDto = Activity;
export type NotificationDto = Notification;

export interface RecordUpdated {
  type: string;
  id: string;
  changes: Record<string, unknown>;
  version: number;
  deleted?: boolean;
}

/** A conversation of the shared inbox changed (new mail, status, assignee, tags): for the live lists. */
export interface ConversationChanged {
  id: string;
  mailboxId: string;
  status: string;
  assigneeId: string | null;
  tags: string[];
  snoozedUntil: Date | null;
  lastMessageAt: Date;
  messageCount: number;
  version: number;
  /** `message`: a message came in or went out; `updated`: someone changed the conversation. */
  reason: 'message' | 'updated';
  /** Who changed it (null when Filo did: inbound mail, a snooze ending). */
  actorId: string | null;
}

/** A task was created, changed or deleted: lists, panels and badges fetch again. */
export interface TaskChanged {
  id: string;
  assigneeId: string | null;
  version: number;
  deleted?: boolean;
}

export interface Publisher {
  /** To the workspace's feed and the record's rooms; never to the sockets of `hiddenFrom` (its mailbox is not theirs). */
  activity(tenantId: string, activity: ActivityDto, hiddenFrom?: string[]): void;
  /** To the sockets of everyone who sees the conversation's mailbox. */
  conversation(tenantId: string, change: ConversationChanged): void;
  recordUpdated(tenantId: string, update: RecordUpdated): void;
  notification(tenantId: string, userId: string, notification: NotificationDto, unread: number): void;
  /** An email account's health, to the sockets of these members (those who see its mailbox). */
  accountHealth(tenantId: string, userIds: string[], health: AccountHealth): void;
  /** To the workspace's room; never to the sockets of `hiddenFrom` (the task's conversation is not theirs). */
  task(tenantId: string, change: TaskChanged, hiddenFrom?: string[]): void;
  /** A meeting, to the sockets of these members (its host and invitees; `removed`: taken off its list). */
  meeting(tenantId: string, userIds: string[], meeting: Meeting, removed: boolean): void;
}

/** Until the web role's Socket.io server is up (or in a process without one), events go nowhere. */
export class PublisherSlot implements Publisher {
  target: Publisher | undefined;
  /** Told of every activity committed in this process, sockets or not (the event feed's wake-up). */
  readonly committed: ((tenantId: string) => void)[] = [];
  activity(tenantId: string, activity: ActivityDto, hiddenFrom?: string[]) {
    this.target?.activity(tenantId, activity, hiddenFrom);
    for (const f of this.committed) f(tenantId);
  }
  recordUpdated(tenantId: string, update: RecordUpdated) {
    this.target?.recordUpdated(tenantId, update);
  }
  conversation(tenantId: string, change: ConversationChanged) {
    this.target?.conversation(tenantId, change);
  }
  notification(tenantId: string, userId: string, notification: NotificationDto, unread: number) {
    this.target?.notification(tenantId, userId, notification, unread);
  }
  accountHealth(tenantId: string, userIds: string[], health: AccountHealth) {
    this.target?.accountHealth(tenantId, userIds, health);
  }
  task(tenantId: string, change: TaskChanged, hiddenFrom?: string[]) {
    this.target?.task(tenantId, change, hiddenFrom);
  }
  meeting(tenantId: string, userIds: string[], meeting: Meeting, removed: boolean) {
    this.target?.meeting(tenantId, userIds, meeting, removed);
  }
}
