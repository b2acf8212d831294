import type { PresenceState, PresenceUser, WatchableType, WatchAck } from '#contracts/realtime';
import type { Activity } from '#contracts/timeline';
import type { RecordUpdated as RecordUpdate } from '#contracts/realtime';
import { getSocket, type FiloSocket } from './socket.ts';

/** How long a `record:watch` may wait for its answer before it is sent again (if still connected). */
const ACK_TIMEOUT_MS = 10_000;
const RETRY_MS = 2_000;
/** After the last keystroke, "typing" turns back into "viewing". */
const TYPING_MS = 3_000;
/** After a join, how long to wait before telling the server a state other than "viewing". */
const PRESENCE_SETTLE_MS = 200;
/** Activity ids remembered per record to drop duplicates (live, replayed after a reconnect, or both). */
const SEEN_MAX = 2_000;

export type ActivityHandler = (activity: Activity, live: boolean) => void;
export type UpdateHandler = (update: RecordUpdate) => void;

/** Whether an activity belongs to a record's room (a company's also gets its contacts' and deals'). */
export function concerns(activity: Activity, type: string, id: string): boolean {
  if (activity.entityType === type && activity.entityId === id) return true;
  return type === 'company' && activity.companyId === id;
}

/**
 * One watched record, shared by everything on the page that shows it: who else is on it, and its activities
 * and changes, each delivered once, in order of arrival. Get one from {@link watcher}, `release()` it on leave.
 */
export class RecordWatch {
  readonly type: WatchableType;
  readonly id: string;
  /** Everyone on the record, this user included (see {@link others}). */
  presence = $state.raw<PresenceUser[]>([]);
  /** `pending` until the server's first answer, `failed` if it refused (see {@link error}). */
  status = $state<'pending' | 'watching' | 'failed'>('pending');
  /** The server's refusal, e.g. `not_found`. */
  error = $state<string | null>(null);
  /** The highest activity seq seen: a re-watch after a reconnect asks for everything after it. */
  lastSeq: number | undefined;

  // Kept by the Watcher:
  /** @internal The server has answered a watch of this record at least once. */
  acked = false;
  /** @internal How many users of the page share this watch. */
  refs = 0;
  /** @internal Bumped on every (re)watch, drop and release: an answer to an older one is ignored. */
  generation = 0;
  /** @internal The state this tab wants to show: what `presence:set` last sent, or will send once watching. */
  state: PresenceState = 'viewing';

  readonly #manager: Watcher;
  // Bookkeeping, never rendered: plain collections, so that nothing that calls into a watch depends on them.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #seen = new Set<string>();
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #onActivity = new Set<ActivityHandler>();
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #onUpdate = new Set<UpdateHandler>();
  #typingTimer: ReturnType<typeof setTimeout> | undefined;
  /** Live activities held back while a catch-up is on its way: the missed ones go first. */
  #held: Activity[] | null = null;

  constructor(manager: Watcher, type: WatchableType, id: string) {
    this.#manager = manager;
    this.type = type;
    this.id = id;
  }

  /** Everyone on the record but this user (another tab of theirs included). */
  others(userId: string | null | undefined): PresenceUser[] {
    return this.presence.filter((u) => u.userId !== userId);
  }

  /** Calls `handler` with each new activity of the record: live, or missed while offline (`live` false). */
  onActivity(handler: ActivityHandler): () => void {
    this.#onActivity.add(handler);
    return () => this.#onActivity.delete(handler);
  }

  /** Calls `handler` with each `record:updated` of the record itself. */
  onUpdate(handler: UpdateHandler): () => void {
    this.#onUpdate.add(handler);
    return () => this.#onUpdate.delete(handler);
  }

  /** A keystroke in an editor of this record: "typing" now, back to "viewing" 3 s after the last one. */
  typing(): void {
    clearTimeout(this.#typingTimer);
    this.#manager.setState(this, 'typing');
    this.#typingTimer = setTimeout(() => {
      this.#typingTimer = undefined;
      this.#manager.setState(this, this.#manager.hidden ? 'idle' : 'viewing');
    }, TYPING_MS);
  }

  /**
   * The newest seq the page already shows (from a REST load). If the socket was not connected yet, the first
   * watch asks for everything after it, so that nothing falls between the page's load and the connection.
   */
  known(seq: number): void {
    if (!this.acked && this.lastSeq === undefined) this.lastSeq = seq;
  }

  /** Whether the user typed in the last 3 s. */
  get isTyping(): boolean {
    return this.#typingTimer !== undefined;
  }

  /** Stops watching once every user of this watch has released it. */
  release(): void {
    this.#manager.release(this);
  }

  /** @internal Delivers an activity unless it was delivered already (or holds it back during a catch-up). */
  deliver(activity: Activity, live: boolean): void {
    if (live && this.#held) {
      this.#held.push(activity);
      return;
    }
    if (this.#seen.has(activity.id)) return;
    this.#seen.add(activity.id);
    if (this.#seen.size > SEEN_MAX) this.#seen.delete(this.#seen.values().next().value!);
    this.lastSeq = Math.max(this.lastSeq ?? 0, activity.seq);
    for (const handler of [...this.#onActivity]) handler(activity, live);
  }

  /** @internal From now on, live activities wait until {@link releaseHeld}. */
  hold(): void {
    this.#held ??= [];
  }

  /** @internal Delivers the live activities held back (those the catch-up already brought are dropped). */
  releaseHeld(): void {
    const held = this.#held ?? [];
    this.#held = null;
    for (const activity of held) this.deliver(activity, true);
  }

  /** @internal */
  update(update: RecordUpdate): void {
    for (const handler of [...this.#onUpdate]) handler(update);
  }

  /** @internal */
  dispose(): void {
    clearTimeout(this.#typingTimer);
    this.#typingTimer = undefined;
    this.#onActivity.clear();
    this.#onUpdate.clear();
    this.#held = null;
  }
}

/**
 * Every record watched by this tab, over the app's one socket. It watches each record on the server
 * (`record:watch`), keeps the last seq seen per record, watches again with `since` after every reconnect and
 * hands the missed activities over before the live ones, drops duplicates by id, routes `record:updated` and
 * `presence:update` to their record, and sends this tab's presence (viewing, typing, idle while hidden).
 */
export class Watcher {
  /** Re-watches sent after a reconnect whose answers (the missed activities) have not arrived yet. */
  pendingCatchUps = $state(0);
  /** The tab is hidden: presence is `idle`. */
  hidden = false;

  // Not reactive on purpose: a page's effect calls watch(), and must not re-run whenever another watch comes or goes.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  readonly #records = new Map<string, RecordWatch>();
  readonly #socket: () => FiloSocket;
  #attached = false;

  constructor(socket: () => FiloSocket = getSocket) {
    this.#socket = socket;
  }

  /** Catching up after a reconnect: the missed activities are on their way. */
  get catchingUp(): boolean {
    return this.pendingCatchUps > 0;
  }

  /** Starts watching a record (or shares the watch already open on it). */
  watch(type: WatchableType, id: string): RecordWatch {
    this.#attach();
    const key = `${type}:${id}`;
    let record = this.#records.get(key);
    if (!record) {
      record = new RecordWatch(this, type, id);
      this.#records.set(key, record);
      record.state = this.hidden ? 'idle' : 'viewing';
      if (this.#socket().connected) void this.#send(record);
    }
    record.refs++;
    return record;
  }

  /** @internal */
  release(record: RecordWatch): void {
    if (--record.refs > 0) return;
    const key = `${record.type}:${record.id}`;
    if (this.#records.get(key) !== record) return;
    this.#records.delete(key);
    record.generation++;
    record.dispose();
    const socket = this.#socket();
    if (socket.connected) socket.emit('record:unwatch', { type: record.type, id: record.id });
  }

  /** @internal Shows this tab as `state` on the record (sent once the server has the watch). */
  setState(record: RecordWatch, state: PresenceState): void {
    if (record.state === state) return;
    record.state = state;
    const socket = this.#socket();
    if (socket.connected && record.status === 'watching' && this.#records.get(`${record.type}:${record.id}`) === record)
      socket.emit('presence:set', { type: record.type, id: record.id, state });
  }

  /** (Re)watches one record; with `since` after a reconnect, replaying what it missed (in batches of 1000). */
  async #send(record: RecordWatch): Promise<void> {
    const socket = this.#socket();
    const generation = ++record.generation;
    // A re-watch (after a reconnect) replays what was missed: the page is catching up until it is answered.
    const catchingUp = record.acked;
    if (catchingUp) {
      this.pendingCatchUps++;
      record.hold();
    }
    try {
      for (;;) {
        const since = record.lastSeq;
        const ack: WatchAck = await socket
          .timeout(ACK_TIMEOUT_MS)
          .emitWithAck('record:watch', { type: record.type, id: record.id, ...(since === undefined ? {} : { since }) });
        if (record.generation !== generation) return;
        if (!ack.ok) {
          record.status = 'failed';
          record.error = ack.error.code;
          return;
        }
        record.presence = ack.presence;
        record.acked = true;
        record.status = 'watching';
        record.error = null;
        if (since === undefined) record.lastSeq = Math.max(record.lastSeq ?? 0, ack.lastSeq);
        for (const activity of ack.missed) record.deliver(activity, false);
        if (!ack.truncated) break;
      }
      // The server starts every watcher as "viewing". It keeps a room's presence list for 50 ms after a join: a
      // change sent at once could be broadcast from that stale list, so it goes a little later.
      if (record.state !== 'viewing')
        setTimeout(() => {
          if (record.generation === generation && record.state !== 'viewing' && socket.connected)
            socket.emit('presence:set', { type: record.type, id: record.id, state: record.state });
        }, PRESENCE_SETTLE_MS);
    } catch {
      // No answer in time (or the connection dropped): try again while connected; a reconnect re-watches anyway.
      setTimeout(() => {
        if (record.generation === generation && this.#socket().connected) void this.#send(record);
      }, RETRY_MS);
    } finally {
      if (catchingUp) {
        this.pendingCatchUps--;
        record.releaseHeld();
      }
    }
  }

  #attach(): void {
    if (this.#attached) return;
    this.#attached = true;
    const socket = this.#socket();
    // After every (re)connect the server has forgotten this socket's rooms: watch everything again.
    socket.on('connect', () => {
      for (const record of this.#records.values()) void this.#send(record);
    });
    socket.on('disconnect', () => {
      for (const record of this.#records.values()) {
        record.generation++;
        record.presence = [];
      }
    });
    // Every socket hears the whole workspace's feed: hand each activity to the records it concerns.
    socket.on('activity:new', (dto) => {
      const activity: Activity = dto;
      for (const record of this.#records.values())
        if (concerns(activity, record.type, record.id)) record.deliver(activity, true);
    });
    socket.on('record:updated', (update) => {
      this.#records.get(`${update.type}:${update.id}`)?.update(update);
    });
    socket.on('presence:update', (update) => {
      const record = this.#records.get(`${update.type}:${update.id}`);
      if (record) record.presence = update.users;
    });
    if (typeof document !== 'undefined') {
      this.hidden = document.visibilityState === 'hidden';
      document.addEventListener('visibilitychange', () => {
        this.hidden = document.visibilityState === 'hidden';
        for (const record of this.#records.values())
          this.setState(record, this.hidden ? 'idle' : record.isTyping ? 'typing' : 'viewing');
      });
    }
  }
}

/** The app's watcher, on the app's socket. */
export const watcher = new Watcher();
