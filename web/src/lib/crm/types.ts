/** What is not yet in contracts/: the CRM's answers are in #contracts/crm, the team's in #contracts/team. */

export type { Activity } from '#contracts/timeline';
export type { Notification as AppNotification } from '#contracts/timeline';
export type { RecordUpdated as RecordUpdate } from '#contracts/realtime';
