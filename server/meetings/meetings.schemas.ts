import type { z } from 'zod';
import type { meetingInput, meetingListQuery, meetingPatch, recordingInput } from '#contracts/meetings';

// The request schemas live in contracts/meetings.ts (the web sends them); these are their parsed forms.
export {
  TRANSCRIPT_MAX_CHARS,
  joinBody,
  meetingInput,
  meetingListQuery,
  meetingPatch,
  participantInput,
  presenceBody,
  recordingInput,
  recordingUploadFields,
  transcriptInput,
} from '#contracts/meetings';

export type MeetingInput = z.infer<typeof meetingInput>;
export type MeetingPatch = z.infer<typeof meetingPatch>;
export type MeetingListQuery = z.infer<typeof meetingListQuery>;
export type RecordingInput = z.infer<typeof recordingInput>;
