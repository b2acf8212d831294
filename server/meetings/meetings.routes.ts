import type { Request } from 'express';
import type { Readable } from 'node:stream';
import { ApiRouter } from '../http/routes.ts';
import { HttpError, notFound, validationError } from '../http/errors.ts';
import { parseBody, parseQuery, idOf } from '../http/validate.ts';
import { receiveFile } from '../http/upload.ts';
import { actorOf } from '../auth/auth.middleware.ts';
import type { Services } from '../services.ts';
import {
  calendarFeedCreated,
  calendarFeedStatus,
  heartbeatAnswer,
  joinInfo,
  leaveAnswer,
  lobbyView,
  meeting,
  meetingDetail,
  meetingList,
  recording,
  recordingList,
} from '#contracts/meetings';
import type { Joiner, RecordingDto } from './meetings.service.ts';
import {
  TRANSCRIPT_MAX_CHARS,
  joinBody,
  meetingInput,
  meetingListQuery,
  meetingPatch,
  presenceBody,
  recordingInput,
  recordingUploadFields,
  transcriptInput,
} from './meetings.schemas.ts';

/** A guest (no session) is who their link's token says; everyone else is the signed-in member. */
const joiner = (req: Request, guest: string | undefined): Joiner => (guest ? { guest } : { actor: actorOf(req) });

const isMultipart = (req: Request) => /^multipart\/form-data/i.test(req.headers['content-type'] ?? '');

async function readText(stream: Readable, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new HttpError(413, 'payload_too_large', 'The transcript file is too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function meetingRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/meetings');

  // The calendar feed: before the `/:id` routes. Calendar apps fetch it with the token alone.
  r.get(
    '/feed/:file',
    {
      summary: 'A calendar feed (<token>.ics, no session: the token is the key)',
      response: { file: 'text/calendar' },
      public: true,
    },
    async (req, res) => {
      const match = /^([\w-]+)\.ics$/.exec(String(req.params.file));
      const body = match ? await s.meetings.feeds.feed(match[1]!) : null;
      if (!body) throw notFound('Calendar feed');
      res.setHeader('Content-Type', 'text/calendar; charset=utf-8');
      res.setHeader('Cache-Control', 'private, no-store');
      res.send(body);
    },
  );
  r.get('/feed', { summary: 'Whether you have a calendar feed', response: calendarFeedStatus }, async (req, res) => {
    res.json(await s.meetings.feeds.feedStatus(actorOf(req)));
  });
  r.post(
    '/feed',
    {
      summary: 'A new secret calendar feed URL (the previous one stops working)',
      response: calendarFeedCreated,
      status: 201,
    },
    async (req, res) => {
      res.status(201).json(await s.meetings.feeds.createFeed(actorOf(req)));
    },
  );
  r.delete('/feed', { summary: 'Turn your calendar feed off', response: 'empty' }, async (req, res) => {
    await s.meetings.feeds.revokeFeed(actorOf(req));
    res.status(204).end();
  });

  r.get(
    '/',
    {
      summary: 'Video meetings (per company, contact or member, by time)',
      query: meetingListQuery,
      response: meetingList,
    },
    async (req, res) => {
      res.json(await s.meetings.scheduling.list(actorOf(req), parseQuery(meetingListQuery, req)));
    },
  );
  r.post(
    '/',
    {
      summary: 'Schedule a video meeting (invitations with .ics), or start one now without scheduledAt',
      body: meetingInput,
      response: meeting,
      status: 201,
    },
    async (req, res) => {
      res.status(201).json(await s.meetings.scheduling.create(actorOf(req), parseBody(meetingInput, req)));
    },
  );
  r.get(
    '/:id',
    { summary: 'A meeting with its attendees, recordings and transcript', response: meetingDetail },
    async (req, res) => {
      res.json(await s.meetings.scheduling.get(actorOf(req), idOf(req.params.id, 'Meeting')));
    },
  );
  r.patch(
    '/:id',
    { summary: 'Change a meeting (host or admin; updated invitations)', body: meetingPatch, response: meeting },
    async (req, res) => {
      res.json(
        await s.meetings.scheduling.update(actorOf(req), idOf(req.params.id, 'Meeting'), parseBody(meetingPatch, req)),
      );
    },
  );
  r.post(
    '/:id/cancel',
    { summary: 'Cancel a scheduled meeting (cancellations with a higher SEQUENCE)', response: meeting },
    async (req, res) => {
      res.json(await s.meetings.scheduling.cancel(actorOf(req), idOf(req.params.id, 'Meeting')));
    },
  );
  r.post(
    '/:id/end',
    { summary: 'End the call for everyone: the note and meeting.completed are posted', response: meeting },
    async (req, res) => {
      res.json(await s.meetings.calls.end(actorOf(req), idOf(req.params.id, 'Meeting')));
    },
  );
  r.get(
    '/:id/calendar.ics',
    { summary: 'The meeting as an RFC 5545 invitation', response: { file: 'text/calendar' } },
    async (req, res) => {
      const ics = await s.meetings.scheduling.calendar(actorOf(req), idOf(req.params.id, 'Meeting'));
      res.setHeader('Content-Type', 'text/calendar; charset=utf-8');
      res.attachment('invite.ics');
      res.send(ics);
    },
  );

  // The call page: members with their session, guests with their link's token, always in a POST body (never in
  // a URL, which request logs keep).
  r.get('/:id/lobby', { summary: 'The meeting as the call page shows it', response: lobbyView }, async (req, res) => {
    res.json(await s.meetings.calls.lobby(joiner(req, undefined), idOf(req.params.id, 'Meeting')));
  });
  r.post(
    '/:id/lobby',
    {
      summary: 'The meeting as the call page shows it, for a member or a guest (their link token in the body)',
      body: joinBody,
      response: lobbyView,
      public: true,
    },
    async (req, res) => {
      const { guest } = parseBody(joinBody, req);
      res.json(await s.meetings.calls.lobby(joiner(req, guest), idOf(req.params.id, 'Meeting')));
    },
  );
  r.post(
    '/:id/join',
    {
      summary: 'Join the call: Jitsi domain, room, display name and JWT (members, or guests with their link token)',
      body: joinBody,
      response: joinInfo,
      public: true,
    },
    async (req, res) => {
      const { guest } = parseBody(joinBody, req);
      res.json(await s.meetings.calls.join(joiner(req, guest), idOf(req.params.id, 'Meeting')));
    },
  );
  r.post(
    '/:id/connected',
    {
      summary: 'The call page really joined the call: the presence counts, and a call not started starts now',
      body: presenceBody,
      response: heartbeatAnswer,
      public: true,
    },
    async (req, res) => {
      const id = idOf(req.params.id, 'Meeting');
      const { attendeeId, guest } = parseBody(presenceBody, req);
      res.json(await s.meetings.calls.connected(joiner(req, guest), id, attendeeId));
    },
  );
  r.post(
    '/:id/heartbeat',
    {
      summary: 'The call page is still in the call; answers whether the call goes on',
      body: presenceBody,
      response: heartbeatAnswer,
      public: true,
    },
    async (req, res) => {
      const id = idOf(req.params.id, 'Meeting');
      const { attendeeId, guest } = parseBody(presenceBody, req);
      res.json(await s.meetings.calls.heartbeat(joiner(req, guest), id, attendeeId));
    },
  );
  r.post(
    '/:id/leave',
    {
      summary: 'Leave the call (the last one out ends it)',
      body: presenceBody,
      response: leaveAnswer,
      public: true,
    },
    async (req, res) => {
      const id = idOf(req.params.id, 'Meeting');
      const { attendeeId, guest } = parseBody(presenceBody, req);
      res.json(await s.meetings.calls.leave(joiner(req, guest), id, attendeeId));
    },
  );

  r.get(
    '/:id/recordings',
    { summary: 'Recordings of a meeting, newest first', response: recordingList },
    async (req, res) => {
      res.json({ items: await s.meetings.recordings.listRecordings(actorOf(req), idOf(req.params.id, 'Meeting')) });
    },
  );
  // JSON `{fileUrl, durationSeconds?, ...}` (e.g. from a Jibri finalize script), or a multipart upload.
  r.post(
    '/:id/recordings',
    {
      summary: 'Attach a recording: JSON with fileUrl, or a multipart upload (durationSeconds, file)',
      body: recordingInput,
      response: recording,
      status: 201,
    },
    async (req, res) => {
      const actor = actorOf(req);
      const id = idOf(req.params.id, 'Meeting');
      let recording: RecordingDto;
      if (isMultipart(req)) {
        recording = await receiveFile(req, async (fields, file) => {
          const meta = recordingUploadFields.safeParse(fields);
          if (!meta.success) throw validationError(meta.error, 'body');
          return s.meetings.recordings.uploadRecording(actor, id, meta.data, file);
        });
      } else {
        recording = await s.meetings.recordings.addRecording(actor, id, parseBody(recordingInput, req));
      }
      res.status(201).json(recording);
    },
  );
  r.get(
    '/:id/recordings/:recordingId/file',
    { summary: 'An uploaded recording', response: { file: 'application/octet-stream' } },
    async (req, res) => {
      const file = await s.meetings.recordings.openRecording(
        actorOf(req),
        idOf(req.params.id, 'Meeting'),
        idOf(req.params.recordingId, 'Recording'),
      );
      res.sendFile(file.path, {
        headers: {
          'Content-Type': file.type,
          'Content-Disposition': file.inline ? 'inline' : 'attachment; filename="recording"',
          'X-Content-Type-Options': 'nosniff',
          'Content-Security-Policy': "default-src 'none'; media-src 'self'; sandbox",
        },
      });
    },
  );
  // JSON `{text}`, or a text file (plain text, WebVTT, SRT) as multipart.
  r.post(
    '/:id/transcript',
    {
      summary: 'Attach the transcript (JSON text, or a multipart text file): kept as a searchable note',
      body: transcriptInput,
      response: meetingDetail,
    },
    async (req, res) => {
      const actor = actorOf(req);
      const id = idOf(req.params.id, 'Meeting');
      let text: string;
      if (isMultipart(req)) {
        const raw = await receiveFile(req, (_fields, file) => readText(file.stream, TRANSCRIPT_MAX_CHARS * 4));
        const parsed = transcriptInput.safeParse({ text: raw });
        if (!parsed.success) throw validationError(parsed.error, 'body');
        text = parsed.data.text;
      } else {
        text = parseBody(transcriptInput, req).text;
      }
      res.json(await s.meetings.recordings.setTranscript(actor, id, text));
    },
  );

  return r;
}
