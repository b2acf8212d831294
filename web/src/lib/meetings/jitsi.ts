/**
 * The part of lib-jitsi-meet's `JitsiMeetJS` that the call page uses. The library is not bundled: it is loaded
 * from the Jitsi deployment itself (`https://<domain>/libs/lib-jitsi-meet.min.js`), so that client and servers
 * always match.
 */

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Listener = (...args: any[]) => void;

export interface JitsiTrack {
  getType(): 'audio' | 'video';
  getVideoType?(): 'camera' | 'desktop';
  isLocal(): boolean;
  isMuted(): boolean;
  mute(): Promise<void>;
  unmute(): Promise<void>;
  attach(element: HTMLMediaElement): void;
  detach(element: HTMLMediaElement): void;
  dispose(): Promise<void>;
  getParticipantId(): string;
  addEventListener?(event: string, listener: Listener): void;
}

export interface JitsiParticipant {
  getId(): string;
  getDisplayName(): string | undefined;
}

export interface JitsiConference {
  on(event: string, listener: Listener): void;
  join(password?: string): void;
  leave(): Promise<void>;
  addTrack(track: JitsiTrack): Promise<void>;
  removeTrack(track: JitsiTrack): Promise<void>;
  replaceTrack(oldTrack: JitsiTrack | null, newTrack: JitsiTrack | null): Promise<void>;
  setDisplayName(name: string): void;
  sendTextMessage(text: string): void;
  myUserId(): string;
  getParticipants(): JitsiParticipant[];
}

export interface JitsiConnection {
  addEventListener(event: string, listener: Listener): void;
  removeEventListener(event: string, listener: Listener): void;
  connect(options?: Record<string, unknown>): void;
  disconnect(): Promise<void> | void;
  initJitsiConference(room: string, options: Record<string, unknown>): JitsiConference;
}

export interface JitsiMeetJSApi {
  init(options?: Record<string, unknown>): void;
  setLogLevel?(level: unknown): void;
  logLevels?: { ERROR: unknown };
  events: {
    connection: {
      CONNECTION_ESTABLISHED: string;
      CONNECTION_FAILED: string;
      CONNECTION_DISCONNECTED: string;
    };
    conference: {
      CONFERENCE_JOINED: string;
      CONFERENCE_LEFT: string;
      CONFERENCE_FAILED: string;
      KICKED: string;
      TRACK_ADDED: string;
      TRACK_REMOVED: string;
      TRACK_MUTE_CHANGED: string;
      USER_JOINED: string;
      USER_LEFT: string;
      DISPLAY_NAME_CHANGED: string;
      MESSAGE_RECEIVED: string;
    };
  };
  JitsiConnection: new (
    appId: string | null,
    token: string | null,
    options: Record<string, unknown>,
  ) => JitsiConnection;
  createLocalTracks(options: { devices: ('audio' | 'video' | 'desktop')[] }): Promise<JitsiTrack[]>;
}

declare global {
  interface Window {
    JitsiMeetJS?: JitsiMeetJSApi;
  }
}

const loading = new Map<string, Promise<JitsiMeetJSApi>>();

/** Loads the library from the deployment once per page (one <script>, shared by every caller). */
export function loadJitsi(libUrl: string): Promise<JitsiMeetJSApi> {
  const known = loading.get(libUrl);
  if (known) return known;
  const promise = new Promise<JitsiMeetJSApi>((resolve, reject) => {
    if (window.JitsiMeetJS) return resolve(window.JitsiMeetJS);
    const script = document.createElement('script');
    script.src = libUrl;
    script.async = true;
    script.onload = () =>
      window.JitsiMeetJS ? resolve(window.JitsiMeetJS) : reject(new Error(`${libUrl} did not define JitsiMeetJS`));
    script.onerror = () => reject(new Error(`could not load ${libUrl}`));
    document.head.append(script);
  });
  promise.catch(() => loading.delete(libUrl));
  loading.set(libUrl, promise);
  return promise;
}
