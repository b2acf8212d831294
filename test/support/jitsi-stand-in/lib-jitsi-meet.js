/* global window, document, EventSource, RTCPeerConnection, MediaStream */
/**
 * A stand-in for lib-jitsi-meet, served by the test's stand-in Jitsi deployment: the part of `JitsiMeetJS` the
 * call page uses (connection, conference, local and remote tracks, events, text messages). Instead of XMPP and a
 * videobridge, the deployment relays signalling between browsers over server-sent events and plain POSTs, and
 * the browsers exchange real media with each other through WebRTC.
 */
(function () {
  const script = document.currentScript;
  const base = script.src.replace(/\/libs\/[^/]*$/, '');

  const events = {
    connection: {
      CONNECTION_ESTABLISHED: 'connection.connectionEstablished',
      CONNECTION_FAILED: 'connection.connectionFailed',
      CONNECTION_DISCONNECTED: 'connection.connectionDisconnected',
    },
    conference: {
      CONFERENCE_JOINED: 'conference.joined',
      CONFERENCE_LEFT: 'conference.left',
      CONFERENCE_FAILED: 'conference.failed',
      KICKED: 'conference.kicked',
      TRACK_ADDED: 'conference.trackAdded',
      TRACK_REMOVED: 'conference.trackRemoved',
      TRACK_MUTE_CHANGED: 'conference.trackMuteChanged',
      USER_JOINED: 'conference.userJoined',
      USER_LEFT: 'conference.userLeft',
      DISPLAY_NAME_CHANGED: 'conference.displayNameChanged',
      MESSAGE_RECEIVED: 'conference.messageReceived',
    },
    track: { LOCAL_TRACK_STOPPED: 'track.stopped' },
  };

  // Simple requests (text/plain): no CORS preflight from the Filo page's origin.
  const post = (path, body) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify(body),
    }).then(async (res) => {
      const data = await res.json();
      if (!res.ok) throw Object.assign(new Error(data.error || `HTTP ${res.status}`), { status: res.status });
      return data;
    });

  class Emitter {
    constructor() {
      this.listeners = new Map();
    }
    on(event, fn) {
      if (!this.listeners.has(event)) this.listeners.set(event, new Set());
      this.listeners.get(event).add(fn);
    }
    off(event, fn) {
      this.listeners.get(event)?.delete(fn);
    }
    emit(event, ...args) {
      for (const fn of [...(this.listeners.get(event) ?? [])]) fn(...args);
    }
  }

  class JitsiTrack extends Emitter {
    constructor(mediaTrack, { local, participantId = null, videoType = 'camera' }) {
      super();
      this.track = mediaTrack;
      this.stream = new MediaStream([mediaTrack]);
      this.local = local;
      this.participantId = participantId;
      this.videoType = videoType;
      this.muted = false;
      this.conference = null;
      mediaTrack.addEventListener('ended', () => this.emit(events.track.LOCAL_TRACK_STOPPED));
    }
    getType() {
      return this.track.kind;
    }
    getVideoType() {
      return this.videoType;
    }
    isLocal() {
      return this.local;
    }
    isMuted() {
      return this.muted;
    }
    getParticipantId() {
      return this.participantId;
    }
    addEventListener(event, fn) {
      this.on(event, fn);
    }
    removeEventListener(event, fn) {
      this.off(event, fn);
    }
    async setMuted(muted) {
      this.muted = muted;
      this.track.enabled = !muted;
      await this.conference?.announceMute(this);
    }
    mute() {
      return this.setMuted(true);
    }
    unmute() {
      return this.setMuted(false);
    }
    attach(element) {
      element.srcObject = this.stream;
      element.play?.().catch(() => {});
    }
    detach(element) {
      if (element.srcObject === this.stream) element.srcObject = null;
    }
    async dispose() {
      if (this.local) this.track.stop();
    }
  }

  class JitsiConference extends Emitter {
    constructor(connection, room) {
      super();
      this.connection = connection;
      this.room = room;
      this.id = null;
      this.displayName = '';
      this.localTracks = [];
      this.participants = new Map();
      this.peers = new Map();
      this.source = null;
    }
    myUserId() {
      return this.id;
    }
    getParticipants() {
      return [...this.participants.values()].map((p) => ({ getId: () => p.id, getDisplayName: () => p.name }));
    }
    setDisplayName(name) {
      this.displayName = name;
    }
    async addTrack(track) {
      track.conference = this;
      this.localTracks.push(track);
      for (const peer of this.peers.values()) peer.pc.addTrack(track.track, track.stream);
    }
    async removeTrack(track) {
      this.localTracks = this.localTracks.filter((t) => t !== track);
    }
    async replaceTrack(oldTrack, newTrack) {
      this.localTracks = this.localTracks.filter((t) => t !== oldTrack);
      if (newTrack) {
        newTrack.conference = this;
        this.localTracks.push(newTrack);
      }
      for (const peer of this.peers.values()) {
        for (const sender of peer.pc.getSenders()) {
          if (oldTrack && sender.track === oldTrack.track) await sender.replaceTrack(newTrack ? newTrack.track : null);
        }
      }
    }
    async announceMute(track) {
      if (this.id) await this.send({ type: 'mute', kind: track.getType(), muted: track.isMuted() });
    }
    send(message, to) {
      return post('/relay/send', { room: this.room, from: this.id, to, message });
    }
    sendTextMessage(text) {
      void this.send({ type: 'chat', text });
      // lib-jitsi-meet reports one's own messages too.
      setTimeout(() => this.emit(events.conference.MESSAGE_RECEIVED, this.id, text, new Date().toISOString()));
    }
    join() {
      post('/relay/join', { room: this.room, name: this.displayName, token: this.connection.token })
        .then(({ id, others }) => {
          this.id = id;
          this.source = new EventSource(
            `${base}/relay/events?room=${encodeURIComponent(this.room)}&id=${encodeURIComponent(id)}`,
          );
          this.source.onmessage = (e) => this.receive(JSON.parse(e.data));
          this.source.onopen = () => {
            this.source.onopen = null;
            this.emit(events.conference.CONFERENCE_JOINED);
            for (const other of others) {
              this.participants.set(other.id, other);
              this.emit(events.conference.USER_JOINED, other.id, { getDisplayName: () => other.name });
              void this.call(other.id);
            }
            for (const track of this.localTracks) if (track.isMuted()) void this.announceMute(track);
          };
        })
        .catch((err) =>
          this.emit(
            events.conference.CONFERENCE_FAILED,
            err.status === 403 ? 'conference.authenticationRequired' : 'conference.setupFailed',
          ),
        );
    }
    async leave() {
      if (this.id) await post('/relay/leave', { room: this.room, id: this.id }).catch(() => {});
      this.source?.close();
      for (const peer of this.peers.values()) peer.pc.close();
      this.peers.clear();
      this.emit(events.conference.CONFERENCE_LEFT);
    }

    peer(id) {
      let peer = this.peers.get(id);
      if (peer) return peer;
      const pc = new RTCPeerConnection({ iceServers: [] });
      peer = { pc, pending: [], tracks: [] };
      this.peers.set(id, peer);
      pc.onicecandidate = (e) => {
        if (e.candidate) void this.send({ type: 'signal', candidate: e.candidate.toJSON() }, id);
      };
      pc.ontrack = (e) => {
        const track = new JitsiTrack(e.track, { local: false, participantId: id });
        track.muted = Boolean(this.participants.get(id)?.muted?.[e.track.kind]);
        peer.tracks.push(track);
        this.emit(events.conference.TRACK_ADDED, track);
      };
      for (const track of this.localTracks) pc.addTrack(track.track, track.stream);
      return peer;
    }
    async call(id) {
      const { pc } = this.peer(id);
      await pc.setLocalDescription(await pc.createOffer());
      await this.send({ type: 'signal', sdp: pc.localDescription.toJSON() }, id);
    }
    async signal(from, data) {
      const peer = this.peer(from);
      const { pc } = peer;
      if (data.sdp) {
        await pc.setRemoteDescription(data.sdp);
        if (data.sdp.type === 'offer') {
          await pc.setLocalDescription(await pc.createAnswer());
          await this.send({ type: 'signal', sdp: pc.localDescription.toJSON() }, from);
        }
        for (const candidate of peer.pending.splice(0)) await pc.addIceCandidate(candidate);
      } else if (data.candidate) {
        if (pc.remoteDescription) await pc.addIceCandidate(data.candidate);
        else peer.pending.push(data.candidate);
      }
    }
    receive({ type, from, ...data }) {
      if (type === 'joined') {
        this.participants.set(data.id, { id: data.id, name: data.name });
        this.emit(events.conference.USER_JOINED, data.id, { getDisplayName: () => data.name });
      } else if (type === 'left') {
        const peer = this.peers.get(data.id);
        for (const track of peer?.tracks ?? []) this.emit(events.conference.TRACK_REMOVED, track);
        peer?.pc.close();
        this.peers.delete(data.id);
        this.participants.delete(data.id);
        this.emit(events.conference.USER_LEFT, data.id);
      } else if (type === 'signal') {
        void this.signal(from, data);
      } else if (type === 'chat') {
        this.emit(events.conference.MESSAGE_RECEIVED, from, data.text, new Date().toISOString());
      } else if (type === 'mute') {
        const p = this.participants.get(from);
        if (p) p.muted = { ...p.muted, [data.kind]: data.muted };
        for (const track of this.peers.get(from)?.tracks ?? []) {
          if (track.getType() !== data.kind) continue;
          track.muted = data.muted;
          this.emit(events.conference.TRACK_MUTE_CHANGED, track);
        }
      }
    }
  }

  class JitsiConnection extends Emitter {
    constructor(appId, token, options) {
      super();
      this.appId = appId;
      this.token = token;
      this.options = options;
    }
    addEventListener(event, fn) {
      this.on(event, fn);
    }
    removeEventListener(event, fn) {
      this.off(event, fn);
    }
    connect() {
      // As prosody would: the deployment must be reachable, and told which XMPP domain the page expects.
      post('/relay/connect', { hosts: this.options.hosts, serviceUrl: this.options.serviceUrl })
        .then(() => this.emit(events.connection.CONNECTION_ESTABLISHED))
        .catch((err) => this.emit(events.connection.CONNECTION_FAILED, err.message));
    }
    disconnect() {
      this.emit(events.connection.CONNECTION_DISCONNECTED);
      return Promise.resolve();
    }
    initJitsiConference(room, _options) {
      return new JitsiConference(this, room);
    }
  }

  async function createLocalTracks({ devices }) {
    if (devices.includes('desktop')) {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: true });
      return stream.getVideoTracks().map((t) => new JitsiTrack(t, { local: true, videoType: 'desktop' }));
    }
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: devices.includes('audio'),
      video: devices.includes('video'),
    });
    return stream.getTracks().map((t) => new JitsiTrack(t, { local: true }));
  }

  window.JitsiMeetJS = {
    version: 'filo-test-stand-in',
    events,
    logLevels: { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', LOG: 'log', WARN: 'warn', ERROR: 'error' },
    init() {},
    setLogLevel() {},
    JitsiConnection,
    createLocalTracks,
  };
})();
