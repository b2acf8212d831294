import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { LockMode } from '@mikro-orm/core';
import { fileTypeFromFile } from 'file-type';
import type { MikroORM } from '../../db/orm.ts';
import { MeetingRecordingSchema, type MeetingRecording } from '../../db/entities/meeting-recording.entity.ts';
import { NoteSchema } from '../../db/entities/note.entity.ts';
import { VideoMeetingSchema } from '../../db/entities/video-meeting.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { quotaExceeded, type StorageQuota } from '../storage/quota.ts';
import { authorOf, inTenant, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { RecordingInput } from './meetings.schemas.ts';
import {
  excerpt,
  lockMeeting,
  requireHost,
  linkedRecord,
  target,
  activityData,
  meetingDetail,
  recordingDto,
  type MeetingDetail,
  type RecordingDto,
} from './meetings.common.ts';

export const RECORDING_MAX_BYTES = 2 * 1024 * 1024 * 1024;

/** What a call leaves behind: recordings (linked or uploaded, within the workspace's storage) and the transcript. */
export class MeetingRecordings {
  readonly #orm: MikroORM;
  readonly #activities: ActivitiesService;
  readonly #blobs: BlobStore;
  readonly #quota: StorageQuota;

  constructor(deps: { orm: MikroORM; activities: ActivitiesService; blobs: BlobStore; quota: StorageQuota }) {
    this.#orm = deps.orm;
    this.#activities = deps.activities;
    this.#blobs = deps.blobs;
    this.#quota = deps.quota;
  }

  addRecording(actor: Actor, id: string, input: RecordingInput): Promise<RecordingDto> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, (uow) =>
      this.#saveRecording(uow, id, {
        fileUrl: input.fileUrl,
        fileSize: input.fileSize ?? null,
        fileType: null,
        durationSeconds: input.durationSeconds ?? null,
        thumbnailUrl: input.thumbnailUrl ?? null,
        transcriptUrl: input.transcriptUrl ?? null,
      }),
    );
  }

  /** Streams an uploaded recording to the blob store first; the row is written only when that worked. */
  async uploadRecording(
    actor: Actor,
    id: string,
    meta: { durationSeconds?: number | undefined },
    file: { stream: Readable },
  ): Promise<RecordingDto> {
    requireWrite(actor);
    // Before taking the bytes: the meeting must exist in this workspace, be the caller's to add to, and fit.
    await inTenant(this.#orm, actor, async ({ em }) => {
      const m = await em.findOne(VideoMeetingSchema, { id });
      if (!m) throw notFound('Meeting');
      requireHost(actor, m);
    });
    const room = await this.#quota.remaining(actor);
    const maxBytes = Math.min(RECORDING_MAX_BYTES, room);
    const blob = await this.#blobs.put(file.stream, { prefix: actor.tenantId, maxBytes });
    if (!blob.complete) {
      if (maxBytes < RECORDING_MAX_BYTES)
        throw quotaExceeded({ usedBytes: this.#quota.limitBytes - room, limitBytes: this.#quota.limitBytes });
      throw new HttpError(413, 'payload_too_large', 'Recordings are limited to 2 GB');
    }
    try {
      const sniffed = await fileTypeFromFile(this.#blobs.path(blob.key));
      return await inTenant(this.#orm, actor, (uow) =>
        this.#saveRecording(uow, id, {
          fileUrl: `blob:${blob.key}`,
          fileSize: blob.size,
          fileType: sniffed?.mime ?? 'application/octet-stream',
          durationSeconds: meta.durationSeconds ?? null,
          thumbnailUrl: null,
          transcriptUrl: null,
        }),
      );
    } catch (err) {
      await this.#blobs.remove(blob.key);
      throw err;
    }
  }

  listRecordings(actor: Actor, id: string): Promise<RecordingDto[]> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      if (!(await em.count(VideoMeetingSchema, { id }))) throw notFound('Meeting');
      const rows = await em.find(MeetingRecordingSchema, { meetingId: id }, { orderBy: { createdAt: 'desc' } });
      return rows.map((r) => recordingDto(r));
    });
  }

  /** An uploaded recording's bytes: audio and video as themselves, anything else as a download. */
  async openRecording(actor: Actor, id: string, recordingId: string) {
    const rec = await inTenant(this.#orm, actor, ({ em }) =>
      em.findOne(MeetingRecordingSchema, { id: recordingId, meetingId: id }),
    );
    if (!rec || !rec.fileUrl.startsWith('blob:')) throw notFound('Recording');
    const playable = /^(video|audio)\/[\w.+-]+$/.test(rec.fileType ?? '');
    return {
      path: this.#blobs.path(rec.fileUrl.slice('blob:'.length)),
      type: playable ? rec.fileType! : 'application/octet-stream',
      inline: playable,
    };
  }

  /**
   * The transcript is kept on the meeting and posted as a note (type meeting) on its company or contact, where
   * search finds it like any note; sending it again replaces both.
   */
  setTranscript(actor: Actor, id: string, text: string): Promise<MeetingDetail> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const { em } = uow;
      const m = await lockMeeting(uow, id);
      requireHost(uow.actor, m);
      if (m.status === 'cancelled') throw new HttpError(409, 'meeting_cancelled', 'The meeting was cancelled');
      m.transcript = text;
      const where = await linkedRecord(uow, m);
      let noteId: string | null = null;
      if (where.entityType !== 'meeting') {
        const content = `Transcript · ${m.title}\n\n${text}`;
        // Locked: the note's version is checked at flush, and a teammate editing it meanwhile must wait, not fail this.
        const existing = m.transcriptNoteId
          ? await em.findOne(NoteSchema, { id: m.transcriptNoteId }, { lockMode: LockMode.PESSIMISTIC_WRITE })
          : null;
        if (existing) {
          existing.content = content;
          noteId = existing.id;
        } else {
          // Its id known before the flush: one flush writes the meeting once (one version).
          const note = em.create(NoteSchema, {
            id: randomUUID(),
            tenantId: m.tenantId,
            entityType: where.entityType,
            entityId: where.entityId,
            content,
            noteType: 'meeting',
            isPinned: false,
            mentions: [],
            attachments: [],
            // Like the call's own note: the host's to edit, whoever posted the text.
            createdBy: m.hostUserId,
          });
          noteId = note.id;
          m.transcriptNoteId = note.id;
        }
      }
      await em.flush();
      await this.#activities.record(uow, {
        ...target(where),
        type: 'meeting.transcript_added',
        title: `Transcript added: ${m.title}`,
        description: excerpt(text),
        data: { ...activityData(m), noteId },
      });
      return meetingDetail(uow, m);
    });
  }

  async #saveRecording(
    uow: UnitOfWork,
    id: string,
    input: Omit<MeetingRecording, 'id' | 'tenantId' | 'meetingId' | 'createdAt' | 'createdBy'>,
  ): Promise<RecordingDto> {
    const { em } = uow;
    const m = await lockMeeting(uow, id);
    requireHost(uow.actor, m);
    if (m.status === 'cancelled') throw new HttpError(409, 'meeting_cancelled', 'The meeting was cancelled');
    // Every recording's size counts towards the workspace's storage, as the quota adds them up.
    if (input.fileSize) await this.#quota.reserve(m.tenantId, input.fileSize, em);
    const rec = em.create(MeetingRecordingSchema, {
      ...input,
      tenantId: m.tenantId,
      meetingId: m.id,
      createdBy: authorOf(uow.actor),
    });
    await em.flush();
    const dto = recordingDto(rec);
    m.recordingUrl = dto.fileUrl;
    await em.flush();
    const where = await linkedRecord(uow, m);
    await this.#activities.record(uow, {
      ...target(where),
      type: 'meeting.recording_added',
      title: `Recording added: ${m.title}`,
      data: {
        ...activityData(m),
        recordingId: rec.id,
        recordingUrl: dto.fileUrl,
        durationSeconds: rec.durationSeconds ?? null,
      },
    });
    return dto;
  }
}
