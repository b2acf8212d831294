/** Typed calls to the meetings endpoints. */
import { request } from '#lib/api.ts';
import { query } from '#lib/crm/api.ts';
import type {
  CalendarFeedCreated,
  CalendarFeedStatus,
  HeartbeatAnswer,
  JoinInfo,
  LeaveAnswer,
  LobbyView,
  Meeting,
  MeetingDetail,
  MeetingInput,
  MeetingListQuery,
} from '#contracts/meetings';

const enc = encodeURIComponent;

export const meetings = {
  list: (params: Omit<MeetingListQuery, 'limit'> & { limit?: number }) =>
    request<{ items: Meeting[] }>(`/api/meetings${query(params)}`).then((r) => r.items),
  get: (id: string) => request<MeetingDetail>(`/api/meetings/${enc(id)}`),
  create: (body: MeetingInput) => request<Meeting>('/api/meetings', { method: 'POST', body }),
  cancel: (id: string) => request<Meeting>(`/api/meetings/${enc(id)}/cancel`, { method: 'POST' }),
  end: (id: string) => request<Meeting>(`/api/meetings/${enc(id)}/end`, { method: 'POST' }),
  calendarUrl: (id: string) => `/api/meetings/${enc(id)}/calendar.ics`,
  callPath: (id: string) => `/call/${enc(id)}`,

  // The call page; guests pass their link's token, always in a body (a URL would land in request logs).
  lobby: (id: string, guest?: string) =>
    guest
      ? request<LobbyView>(`/api/meetings/${enc(id)}/lobby`, { method: 'POST', body: { guest } })
      : request<LobbyView>(`/api/meetings/${enc(id)}/lobby`),
  join: (id: string, guest?: string) =>
    request<JoinInfo>(`/api/meetings/${enc(id)}/join`, { method: 'POST', body: guest ? { guest } : {} }),
  /** The page is really in the call (lib-jitsi-meet joined the conference): only this starts a call. */
  connected: (id: string, attendeeId: string, guest?: string) =>
    request<HeartbeatAnswer>(`/api/meetings/${enc(id)}/connected`, {
      method: 'POST',
      body: { attendeeId, ...(guest ? { guest } : {}) },
    }),
  heartbeat: (id: string, attendeeId: string, guest?: string) =>
    request<HeartbeatAnswer>(`/api/meetings/${enc(id)}/heartbeat`, {
      method: 'POST',
      body: { attendeeId, ...(guest ? { guest } : {}) },
    }),
  leave: (id: string, attendeeId: string, guest?: string) =>
    request<LeaveAnswer>(`/api/meetings/${enc(id)}/leave`, {
      method: 'POST',
      body: { attendeeId, ...(guest ? { guest } : {}) },
    }),
  /** For a page being closed: a beacon still reaches the server when a fetch would be cancelled. */
  leaveBeacon: (id: string, attendeeId: string, guest?: string) =>
    navigator.sendBeacon(
      `/api/meetings/${enc(id)}/leave`,
      new Blob([JSON.stringify({ attendeeId, ...(guest ? { guest } : {}) })], { type: 'application/json' }),
    ),

  feed: {
    status: () => request<CalendarFeedStatus>('/api/meetings/feed'),
    create: () => request<CalendarFeedCreated>('/api/meetings/feed', { method: 'POST' }),
    revoke: () => request<void>('/api/meetings/feed', { method: 'DELETE' }),
  },
};
