/** What is not yet in contracts/: the CRM's answers are in #contracts/crm, the team's in #contracts/team. */

export interface Activity {
  id: string;
  seq: number;
  entityType: string;
  entityId: string;
  companyId: string | null;
  type: string;
  title: string;
  description: string | null;
  data: Record<string, unknown>;
  actor: { id: string; name: string } | null;
  createdAt: string;
}

export interface AppNotification {
  id: string;
  type: string;
  title: string;
  body: string | null;
  entityType: string | null;
  entityId: string | null;
  noteId: string | null;
  actor: { id: string; name: string } | null;
  readAt: string | null;
  createdAt: string;
}

export interface RecordUpdate {
  type: string;
  id: string;
  changes: Record<string, unknown>;
  version: number;
  deleted?: boolean;
}
