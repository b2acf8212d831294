/** Shapes of the meetings API's answers, as JSON (dates are ISO strings). */

export const MEETING_STATUSES = ['scheduled', 'in_progress', 'completed', 'cancelled'] as const;
export type MeetingStatus = (typeof MEETING_STATUSES)[number];

export interface MeetingParticipant {
  type: 'user' | 'contact' | 'email';
  userId?: string;
  contactId?: string;
  name: string;
  email: string | null;
}

export interface Meeting {
  id: string;
  title: string;
  kind: 'instant' | 'scheduled';
  status: MeetingStatus;
  companyId: string | null;
  contactId: string | null;
  companyName: string | null;
  contactName: string | null;
  scheduledAt: string | null;
  durationMinutes: number;
  meetingUrl: string;
  provider: string;
  roomId: string;
  hostUserId: string;
  hostName: string | null;
  participants: MeetingParticipant[];
  recordingUrl: string | null;
  notes: string | null;
  hasTranscript: boolean;
  startedAt: string | null;
  endedAt: string | null;
  actualDurationSeconds: number | null;
  endReason: 'host_ended' | 'last_left' | 'timeout' | null;
  icsSequence: number;
  noteId: string | null;
  transcriptNoteId: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** What the call page knows before joining; guests see no CRM data (no company or contact). */
export interface LobbyView {
  id: string;
  title: string;
  kind: Meeting['kind'];
  status: MeetingStatus;
  scheduledAt: string | null;
  durationMinutes: number;
  hostName: string | null;
  companyId: string | null;
  contactId: string | null;
  displayName: string;
  guest: boolean;
  /** When a call that has not started can be joined (its host may start it any time). */
  opensAt: string;
  closesAt: string;
}

export interface JoinInfo {
  attendeeId: string;
  meeting: LobbyView;
  domain: string;
  libUrl: string;
  serviceUrl: string;
  hosts: { domain: string; muc: string };
  roomName: string;
  displayName: string;
  email: string | null;
  moderator: boolean;
  jwt: string | null;
  heartbeatSeconds: number;
}

export type ParticipantInput = { userId: string } | { contactId: string } | { email: string; name?: string };

export interface MeetingInput {
  title?: string;
  companyId?: string | null;
  contactId?: string | null;
  scheduledAt?: string | null;
  durationMinutes?: number;
  participants?: ParticipantInput[];
  notes?: string | null;
}
