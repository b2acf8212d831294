/** Typed calls to the sequences endpoints (`/api/sequences`): authoring, enrolment, report, sending, reputation. */
import { request } from '#lib/api.ts';
import { query } from '#lib/crm/api.ts';
import type {
  EnrolInput,
  EnrolResult,
  Enrolment,
  MailboxSending,
  MailboxSendingPatch,
  Preflight,
  Sequence,
  SequenceCreate,
  SequencePatch,
  SequenceReport,
  SequenceSummary,
  StepsPut,
} from '#contracts/sequences';
import type { z } from '#contracts/zod';
import type { domainReputation } from '#contracts/sequences';

export type DomainReputation = z.infer<typeof domainReputation>;
export type SequenceCommand = 'launch' | 'pause' | 'resume' | 'archive';
export type EnrolmentCommand = 'stop' | 'pause' | 'resume';

const enc = encodeURIComponent;
const base = '/api/sequences';

/** Lists come as `{ items }`; a bare array is read the same. */
const items = <T>(r: { items: T[] } | T[]): T[] => (Array.isArray(r) ? r : r.items);

export const sequencesApi = {
  list: () => request<{ items: SequenceSummary[] }>(base).then(items),
  get: (id: string) => request<Sequence>(`${base}/${enc(id)}`),
  create: (body: SequenceCreate) => request<Sequence>(base, { method: 'POST', body }),
  update: (id: string, body: SequencePatch) => request<Sequence>(`${base}/${enc(id)}`, { method: 'PATCH', body }),
  remove: (id: string) => request<void>(`${base}/${enc(id)}`, { method: 'DELETE' }),
  saveSteps: (id: string, body: StepsPut) => request<Sequence>(`${base}/${enc(id)}/steps`, { method: 'PUT', body }),
  command: (id: string, command: SequenceCommand) =>
    request<Sequence>(`${base}/${enc(id)}/${command}`, { method: 'POST', body: {} }),
  enrol: (id: string, body: EnrolInput) =>
    request<EnrolResult>(`${base}/${enc(id)}/enrolments`, { method: 'POST', body }),
  enrolments: (id: string, params: { status?: string; cursor?: string } = {}) =>
    request<{ items: Enrolment[]; nextCursor: string | null }>(`${base}/${enc(id)}/enrolments${query(params)}`),
  enrolmentCommand: (id: string, enrolmentId: string, command: EnrolmentCommand) =>
    request<Enrolment>(`${base}/${enc(id)}/enrolments/${enc(enrolmentId)}/${command}`, { method: 'POST', body: {} }),
  markPositive: (id: string, enrolmentId: string, positive: boolean | null) =>
    request<Enrolment>(`${base}/${enc(id)}/enrolments/${enc(enrolmentId)}`, { method: 'PATCH', body: { positive } }),
  createDeal: (id: string, enrolmentId: string) =>
    request<{ dealId?: string; deal?: { id: string } }>(`${base}/${enc(id)}/enrolments/${enc(enrolmentId)}/deal`, {
      method: 'POST',
      body: {},
    }),
  report: (id: string) => request<SequenceReport>(`${base}/${enc(id)}/report`),
  preflight: (id: string) => request<Preflight>(`${base}/${enc(id)}/preflight`),
  mailboxes: () => request<{ items: MailboxSending[] } | MailboxSending[]>(`${base}/mailboxes`).then(items),
  updateMailbox: (mailboxId: string, body: MailboxSendingPatch) =>
    request<MailboxSending>(`${base}/mailboxes/${enc(mailboxId)}`, { method: 'PATCH', body }),
  reputation: () => request<{ items: DomainReputation[] }>(`${base}/reputation`).then(items),
  resumeDomain: (domain: string) =>
    request<unknown>(`${base}/reputation/${enc(domain)}/resume`, { method: 'POST', body: {} }),
};
