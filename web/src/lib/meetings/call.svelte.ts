import { ApiError } from '#lib/api.ts';
import { meetings as meetingsApi } from './api.ts';
import {
  loadJitsi,
  type JitsiConference,
  type JitsiConnection,
  type JitsiMeetJSApi,
  type JitsiTrack,
} from './jitsi.ts';
import type { JoinInfo } from '#contracts/meetings';

export interface RemoteParticipant {
  id: string;
  name: string;
  audio: JitsiTrack | null;
  video: JitsiTrack | null;
  audioMuted: boolean;
  videoMuted: boolean;
}

export interface ChatMessage {
  id: number;
  from: string;
  text: string;
  mine: boolean;
  /** When it arrived (ms since the epoch). */
  at: number;
}

export type CallPhase = 'idle' | 'joining' | 'in-call' | 'left' | 'ended' | 'failed';
/** Why the page is not in the call; the page words it. */
export type CallProblem =
  | 'over'
  | 'cancelled'
  | 'too_early'
  | 'expired'
  | 'removed'
  | 'not_found'
  | 'load_failed'
  | 'connection_failed'
  | 'unexpected';

/**
 * One participation in a call: Filo is told of the join first (it answers where and how to connect), then
 * lib-jitsi-meet connects, publishes the camera and microphone and follows the others; Filo hears a heartbeat
 * while the page is in the call, and the leave. Everything the page shows is here, as runes.
 */
export class CallSession {
  readonly meetingId: string;
  readonly guest: string | undefined;

  phase = $state<CallPhase>('idle');
  problem = $state<CallProblem | null>(null);
  /** Joined without camera or microphone (none, or refused). */
  noMedia = $state(false);
  info = $state.raw<JoinInfo | null>(null);
  localVideo = $state.raw<JitsiTrack | null>(null);
  localAudio = $state.raw<JitsiTrack | null>(null);
  remotes = $state.raw<RemoteParticipant[]>([]);
  messages = $state.raw<ChatMessage[]>([]);
  micMuted = $state(false);
  cameraOff = $state(false);
  sharing = $state(false);

  #jitsi: JitsiMeetJSApi | null = null;
  #connection: JitsiConnection | null = null;
  #conference: JitsiConference | null = null;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  /** The camera, kept aside while the screen is shared in its place. */
  #camera: JitsiTrack | null = null;
  #messageId = 0;
  #reported = false;

  constructor(meetingId: string, guest?: string) {
    this.meetingId = meetingId;
    this.guest = guest;
  }

  async join(): Promise<void> {
    if (this.phase === 'joining' || this.phase === 'in-call') return;
    this.phase = 'joining';
    this.problem = null;
    this.remotes = [];
    this.messages = [];
    let info: JoinInfo;
    try {
      info = await meetingsApi.join(this.meetingId, this.guest);
    } catch (err) {
      return this.#fail(problemOf(err));
    }
    this.info = info;
    this.#reported = true;
    try {
      this.#jitsi = await loadJitsi(info.libUrl);
    } catch {
      await this.#reportLeave();
      return this.#fail('load_failed');
    }
    const jitsi = this.#jitsi;
    try {
      jitsi.init({});
      if (jitsi.setLogLevel && jitsi.logLevels) jitsi.setLogLevel(jitsi.logLevels.ERROR);
      const tracks = await jitsi.createLocalTracks({ devices: ['audio', 'video'] }).catch(() => [] as JitsiTrack[]);
      this.noMedia = tracks.length === 0;
      this.localAudio = tracks.find((t) => t.getType() === 'audio') ?? null;
      this.localVideo = tracks.find((t) => t.getType() === 'video') ?? null;
      this.#connection = await this.#connect(jitsi, info);
      const conference = this.#connection.initJitsiConference(info.roomName, { openBridgeChannel: true });
      this.#conference = conference;
      this.#listen(jitsi, conference);
      conference.setDisplayName(info.displayName);
      for (const track of tracks) await conference.addTrack(track);
      window.addEventListener('pagehide', this.#onPageHide);
      conference.join();
    } catch {
      await this.#teardown();
      await this.#reportLeave();
      return this.#fail('connection_failed');
    }
  }

  /** In the conference at last: Filo hears it (this, not opening the page, starts a scheduled call), then beats. */
  async #connected(): Promise<void> {
    const info = this.info;
    if (!info || this.phase !== 'joining') return;
    try {
      await meetingsApi.connected(this.meetingId, info.attendeeId, this.guest);
    } catch (err) {
      await this.#teardown();
      await this.#reportLeave();
      return this.#fail(problemOf(err));
    }
    if (this.phase !== 'joining') return;
    this.phase = 'in-call';
    clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(() => void this.#beat(), info.heartbeatSeconds * 1000);
  }

  async toggleMic(): Promise<void> {
    const track = this.localAudio;
    if (!track) return;
    if (track.isMuted()) await track.unmute();
    else await track.mute();
    this.micMuted = track.isMuted();
  }

  async toggleCamera(): Promise<void> {
    const track = this.localVideo;
    if (!track) return;
    if (track.isMuted()) await track.unmute();
    else await track.mute();
    this.cameraOff = track.isMuted();
  }

  /** The screen replaces the camera in the call, and the camera comes back when sharing stops. */
  async toggleScreen(): Promise<void> {
    const conference = this.#conference;
    if (!conference || !this.#jitsi) return;
    if (this.sharing) {
      const screen = this.localVideo;
      await conference.replaceTrack(screen, this.#camera);
      await screen?.dispose();
      this.localVideo = this.#camera;
      this.#camera = null;
      this.sharing = false;
      return;
    }
    const [screen] = await this.#jitsi.createLocalTracks({ devices: ['desktop'] }).catch(() => [] as JitsiTrack[]);
    if (!screen) return;
    await conference.replaceTrack(this.localVideo, screen);
    this.#camera = this.localVideo;
    this.localVideo = screen;
    this.sharing = true;
    // The browser's own "Stop sharing" ends the track: go back to the camera.
    screen.addEventListener?.('track.stopped', () => {
      if (this.sharing && this.localVideo === screen) void this.toggleScreen();
    });
  }

  send(text: string): void {
    const message = text.trim();
    if (!message || !this.#conference) return;
    this.#conference.sendTextMessage(message);
    this.#push(this.info?.displayName ?? '', message, true);
  }

  /** Leaves the call; the others carry on (the last one out ends it). */
  async leave(): Promise<void> {
    await this.#teardown();
    await this.#reportLeave();
    this.phase = 'left';
  }

  /** The host ends the call for everyone: Filo records it at once; the others' pages notice and leave. */
  async endForAll(): Promise<void> {
    try {
      await meetingsApi.end(this.meetingId);
    } catch (err) {
      // Someone else ended it first: the outcome is the same.
      if (!(err instanceof ApiError && err.status === 409)) throw err;
    }
    this.#reported = false;
    await this.#teardown();
    this.phase = 'ended';
  }

  /** Called when the page goes away (navigation inside the app). */
  dispose(): void {
    if (this.phase === 'in-call' || this.phase === 'joining') {
      void this.#teardown();
      void this.#reportLeave();
    }
    window.removeEventListener('pagehide', this.#onPageHide);
  }

  #connect(jitsi: JitsiMeetJSApi, info: JoinInfo): Promise<JitsiConnection> {
    const connection = new jitsi.JitsiConnection(null, info.jwt, {
      hosts: info.hosts,
      serviceUrl: info.serviceUrl,
      clientNode: 'https://filo.dev/call',
    });
    const { CONNECTION_ESTABLISHED, CONNECTION_FAILED } = jitsi.events.connection;
    return new Promise((resolve, reject) => {
      const established = () => {
        connection.removeEventListener(CONNECTION_FAILED, failed);
        resolve(connection);
      };
      const failed = (err: unknown) => {
        connection.removeEventListener(CONNECTION_ESTABLISHED, established);
        reject(err instanceof Error ? err : new Error(String(err)));
      };
      connection.addEventListener(CONNECTION_ESTABLISHED, established);
      connection.addEventListener(CONNECTION_FAILED, failed);
      connection.connect();
    });
  }

  #listen(jitsi: JitsiMeetJSApi, conference: JitsiConference): void {
    const e = jitsi.events.conference;
    conference.on(e.CONFERENCE_JOINED, () => {
      // Whoever was already there.
      for (const p of conference.getParticipants()) this.#upsert(p.getId(), { name: p.getDisplayName() ?? '' });
      void this.#connected();
    });
    conference.on(e.USER_JOINED, (id: string, user: { getDisplayName(): string | undefined }) =>
      this.#upsert(id, { name: user.getDisplayName() ?? '' }),
    );
    conference.on(e.USER_LEFT, (id: string) => (this.remotes = this.remotes.filter((r) => r.id !== id)));
    conference.on(e.DISPLAY_NAME_CHANGED, (id: string, name: string) => this.#upsert(id, { name }));
    conference.on(e.TRACK_ADDED, (track: JitsiTrack) => {
      if (track.isLocal()) return;
      const kind = track.getType();
      this.#upsert(track.getParticipantId(), {
        [kind]: track,
        [kind === 'audio' ? 'audioMuted' : 'videoMuted']: track.isMuted(),
      });
    });
    conference.on(e.TRACK_REMOVED, (track: JitsiTrack) => {
      if (track.isLocal()) return;
      const r = this.remotes.find((x) => x.id === track.getParticipantId());
      if (r && r[track.getType()] === track) this.#upsert(r.id, { [track.getType()]: null });
    });
    conference.on(e.TRACK_MUTE_CHANGED, (track: JitsiTrack) => {
      if (track.isLocal()) return;
      this.#upsert(track.getParticipantId(), {
        [track.getType() === 'audio' ? 'audioMuted' : 'videoMuted']: track.isMuted(),
      });
    });
    conference.on(e.MESSAGE_RECEIVED, (id: string, text: string) => {
      if (id === conference.myUserId()) return;
      const from = this.remotes.find((r) => r.id === id)?.name ?? '';
      this.#push(from, text, false);
    });
    const over = () => {
      if (this.phase !== 'in-call' && this.phase !== 'joining') return;
      void this.#teardown().then(() => this.#reportLeave());
      this.phase = 'ended';
    };
    conference.on(e.KICKED, over);
    conference.on(e.CONFERENCE_FAILED, over);
  }

  #upsert(id: string, patch: Partial<RemoteParticipant>): void {
    const existing = this.remotes.find((r) => r.id === id);
    const next: RemoteParticipant = {
      ...(existing ?? { id, name: '', audio: null, video: null, audioMuted: false, videoMuted: false }),
      ...patch,
    };
    this.remotes = existing ? this.remotes.map((r) => (r.id === id ? next : r)) : [...this.remotes, next];
  }

  #push(from: string, text: string, mine: boolean): void {
    this.messages = [...this.messages, { id: ++this.#messageId, from, text, mine, at: Date.now() }];
  }

  /** While in the call: tell Filo, and leave if the call ended (the host ended it for everyone). */
  async #beat(): Promise<void> {
    const info = this.info;
    if (!info) return;
    try {
      const { inCall } = await meetingsApi.heartbeat(this.meetingId, info.attendeeId, this.guest);
      if (!inCall && (this.phase === 'in-call' || this.phase === 'joining')) {
        this.#reported = false;
        await this.#teardown();
        this.phase = 'ended';
      }
    } catch (err) {
      // A missed beat is harmless (Filo waits two minutes before it calls a silent call over); a guest taken off
      // the list is out now.
      if (!(err instanceof ApiError && err.code === 'guest_removed')) return;
      this.#reported = false;
      await this.#teardown();
      this.#fail('removed');
    }
  }

  async #teardown(): Promise<void> {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    window.removeEventListener('pagehide', this.#onPageHide);
    const conference = this.#conference;
    const connection = this.#connection;
    this.#conference = null;
    this.#connection = null;
    const tracks = [this.localAudio, this.localVideo, this.#camera].filter((t): t is JitsiTrack => Boolean(t));
    this.localAudio = null;
    this.localVideo = null;
    this.#camera = null;
    this.sharing = false;
    this.remotes = [];
    await conference?.leave().catch(() => {});
    await Promise.resolve(connection?.disconnect()).catch(() => {});
    for (const track of tracks) await track.dispose().catch(() => {});
  }

  async #reportLeave(): Promise<void> {
    const info = this.info;
    if (!info || !this.#reported) return;
    this.#reported = false;
    await meetingsApi.leave(this.meetingId, info.attendeeId, this.guest).catch(() => {});
  }

  #onPageHide = () => {
    const info = this.info;
    if (info && this.#reported) meetingsApi.leaveBeacon(this.meetingId, info.attendeeId, this.guest);
    this.#reported = false;
  };

  #fail(problem: CallProblem): void {
    this.problem = problem;
    this.phase = 'failed';
  }
}

function problemOf(err: unknown): CallProblem {
  if (!(err instanceof ApiError)) return 'unexpected';
  if (err.code === 'meeting_completed') return 'over';
  if (err.code === 'meeting_cancelled') return 'cancelled';
  if (err.code === 'meeting_too_early') return 'too_early';
  if (err.code === 'meeting_expired') return 'expired';
  if (err.code === 'guest_removed') return 'removed';
  if (err.status === 404 || err.status === 401) return 'not_found';
  return 'unexpected';
}
