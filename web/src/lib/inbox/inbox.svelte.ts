import { ApiError } from '#lib/api.ts';
import type { Activity } from '#contracts/timeline';
import type { AccountHealth } from '#contracts/accounts';
import { listen } from '#lib/realtime.ts';
import { getSocket } from '#lib/socket.ts';
import { watcher, type RecordWatch } from '#lib/watch.svelte.ts';
import { conversations, mailboxes as mailboxesApi } from './api.ts';
import { inboxBadge } from './unread.svelte.ts';
import {
  CONVERSATION_STATUSES,
  MAILBOX_FILTER_MAX,
  SEARCH_MAX,
  type ConversationChange,
  type ConversationDetail,
  type ConversationPatch,
  type ConversationStatus,
  type ConversationSummary,
  type InboxCounts,
  type InboxView,
  type Mailbox,
  type Message,
} from '#contracts/inbox';

const PAGE_SIZE = 50;
/** A burst of mail (a mailing, a retry of many) refreshes the list once. */
const REFRESH_DEBOUNCE_MS = 250;

/** Activity types that mean a conversation got a new message. */
export const MAIL_ACTIVITIES = ['email.received', 'email.auto_reply'] as const;
export const isMailActivity = (a: Activity): boolean => (MAIL_ACTIVITIES as readonly string[]).includes(a.type);

const newestFirst = (a: ConversationSummary, b: ConversationSummary) =>
  b.lastMessageAt.localeCompare(a.lastMessageAt) || b.id.localeCompare(a.id);

const messageOf = (err: unknown) => (err instanceof ApiError ? err.message : String(err));

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The list's filters, as the page's URL keeps them (so that a view can be bookmarked). */
export interface InboxFilters {
  mailboxIds: string[];
  status: ConversationStatus | '';
  /** `me`, `none` (unassigned), a member's id, or '' for anyone. */
  assignee: string;
  unread: boolean;
  q: string;
}

/** Filters from a URL's query (`?mailbox=a,b&status=open&assignee=me&unread=1&q=words`); what is not valid is left out. */
export function filtersFrom(search: Pick<URLSearchParams, 'get'>): InboxFilters {
  const status = search.get('status') ?? '';
  const assignee = search.get('assignee') ?? '';
  const ids = (search.get('mailbox') ?? '').split(',').filter((id) => UUID.test(id));
  return {
    mailboxIds: ids.filter((id, i) => ids.indexOf(id) === i).slice(0, MAILBOX_FILTER_MAX),
    status: (CONVERSATION_STATUSES as readonly string[]).includes(status) ? (status as ConversationStatus) : '',
    assignee: assignee === 'me' || assignee === 'none' || UUID.test(assignee) ? assignee : '',
    unread: search.get('unread') === '1',
    q: (search.get('q') ?? '').slice(0, SEARCH_MAX),
  };
}

/** The URL query of these filters (empty ones left out), with `?` when there is any. */
export function filtersQuery(f: InboxFilters): string {
  const parts: string[] = [];
  const q = f.q.trim();
  if (f.mailboxIds.length) parts.push(`mailbox=${f.mailboxIds.join(',')}`);
  if (f.status) parts.push(`status=${f.status}`);
  if (f.assignee) parts.push(`assignee=${f.assignee}`);
  if (f.unread) parts.push('unread=1');
  if (q) parts.push(`q=${encodeURIComponent(q)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Follows `account:health` (sent to those who see the account): a failing account shows its warning at once. */
function followHealth(onHealth: (health: AccountHealth) => void): () => void {
  const socket = getSocket();
  socket.on('account:health', onHealth);
  return () => socket.off('account:health', onHealth);
}

/** Follows `conversation:updated` for the mailboxes this user sees (joined again after every reconnect). */
function followInbox(onChange: (change: ConversationChange) => void, onConnect: () => void): () => void {
  const socket = getSocket();
  const join = () => {
    socket.emit('inbox:watch', {}, () => {});
    onConnect();
  };
  const handler = (change: unknown) => onChange(change as ConversationChange);
  socket.on('conversation:updated', handler);
  socket.on('connect', join);
  if (socket.connected) join();
  return () => {
    socket.off('conversation:updated', handler);
    socket.off('connect', join);
  };
}

/**
 * The unified inbox's list: the conversations of the shared mailboxes and accounts this user sees, filtered by
 * mailboxes, status, assignee, unread and a search, newest first, more on demand; with the sidebar's counts. It is live: every
 * `conversation:updated` patches the row (status, assignee, new mail: unread), brings in new conversations and
 * refreshes the counts.
 */
export class InboxList {
  mailboxes = $state.raw<Mailbox[]>([]);
  items = $state.raw<ConversationSummary[]>([]);
  nextCursor = $state<string | null>(null);
  loading = $state(false);
  loadingMore = $state(false);
  error = $state<string | null>(null);
  counts = $state.raw<InboxCounts | null>(null);
  /** Ids that arrived or changed live, for a short highlight. */
  fresh = $state.raw<string[]>([]);

  /** Mailboxes and accounts shown; none: all of them. */
  mailboxIds = $state.raw<string[]>([]);
  status = $state<ConversationStatus | ''>('');
  assignee = $state('');
  unread = $state(false);
  /** The search as applied to the list (the search box may hold more being typed). */
  q = $state('');
  /** The conversation open beside the list: mail arriving there is read at once. */
  openId: string | null = null;
  /** The signed-in user (for "mine"). */
  userId: string | null = null;

  readonly mailboxById: Record<string, Mailbox | undefined> = $derived(
    Object.fromEntries(this.mailboxes.map((m) => [m.id, m])),
  );
  /** The sidebar's groups: team inboxes, messaging channels, this user's own accounts, accounts shared with them. */
  readonly groups = $derived({
    shared: this.mailboxes.filter((m) => m.kind !== 'account' && m.kind !== 'messaging'),
    messaging: this.mailboxes.filter((m) => m.kind === 'messaging'),
    own: this.mailboxes.filter((m) => m.kind === 'account' && m.account?.own),
    sharedWithMe: this.mailboxes.filter((m) => m.kind === 'account' && !m.account?.own),
  });

  /** The sidebar's views are assignee filters: mine, unassigned, or all. */
  get view(): InboxView {
    return this.assignee === 'me' ? 'mine' : this.assignee === 'none' ? 'unassigned' : 'all';
  }
  set view(view: InboxView) {
    this.assignee = view === 'mine' ? 'me' : view === 'unassigned' ? 'none' : '';
  }

  /** One mailbox shown on its own, or '' (all of them, or several). */
  get mailboxId(): string {
    return this.mailboxIds.length === 1 ? this.mailboxIds[0]! : '';
  }
  set mailboxId(id: string) {
    this.mailboxIds = id ? [id] : [];
  }

  get filters(): InboxFilters {
    return {
      mailboxIds: this.mailboxIds,
      status: this.status,
      assignee: this.assignee,
      unread: this.unread,
      q: this.q,
    };
  }
  set filters(f: InboxFilters) {
    this.mailboxIds = f.mailboxIds;
    this.status = f.status;
    this.assignee = f.assignee;
    this.unread = f.unread;
    this.q = f.q;
  }

  /** Whether any filter narrows the list. */
  get filtered(): boolean {
    return filtersQuery(this.filters) !== '';
  }

  /** Adds a mailbox to the ones shown, or takes it out. */
  toggleMailbox(id: string): void {
    this.mailboxIds = this.mailboxIds.includes(id)
      ? this.mailboxIds.filter((m) => m !== id)
      : [...this.mailboxIds, id].slice(0, MAILBOX_FILTER_MAX);
  }
  #abort: AbortController | null = null;
  /** Bumped by every fresh load: a page or refresh asked for under older filters is dropped when it answers. */
  #generation = 0;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #countsTimer: ReturnType<typeof setTimeout> | undefined;
  #countsAsked = 0;

  #params(cursor?: string | null) {
    const q = this.q.trim();
    return {
      mailboxId: this.mailboxIds.length ? this.mailboxIds : undefined,
      status: this.status || undefined,
      assignee: this.assignee || undefined,
      unread: this.unread ? ('true' as const) : undefined,
      q: q || undefined,
      limit: PAGE_SIZE,
      cursor: cursor ?? undefined,
    };
  }

  /** Whether a conversation belongs in the list as filtered now (the search is the server's to tell). */
  matches(c: Pick<ConversationSummary, 'mailboxId' | 'status' | 'assigneeId'>): boolean {
    if (this.mailboxIds.length && !this.mailboxIds.includes(c.mailboxId)) return false;
    if (this.status && c.status !== this.status) return false;
    if (this.assignee === 'me' && c.assigneeId !== this.userId) return false;
    if (this.assignee === 'none' && c.assigneeId !== null) return false;
    if (this.assignee && this.assignee !== 'me' && this.assignee !== 'none' && c.assigneeId !== this.assignee)
      return false;
    return true;
  }

  async loadMailboxes(): Promise<void> {
    this.mailboxes = await mailboxesApi.list();
    // Mailboxes made (or opened to this user) since the socket joined its rooms: follow them too.
    const socket = getSocket();
    if (socket.connected) socket.emit('inbox:watch', {}, () => {});
  }

  /** The first page with the current filters (replacing the list), and the counts. */
  async load(): Promise<void> {
    this.#abort?.abort();
    const abort = (this.#abort = new AbortController());
    this.#generation++;
    this.loading = true;
    void this.loadCounts();
    try {
      const page = await conversations.list(this.#params(), abort.signal);
      if (abort.signal.aborted) return;
      this.items = page.items;
      this.nextCursor = page.nextCursor;
      this.error = null;
    } catch (err) {
      if (!abort.signal.aborted) this.error = messageOf(err);
    } finally {
      if (this.#abort === abort) this.loading = false;
    }
  }

  async loadCounts(): Promise<void> {
    const asked = ++this.#countsAsked;
    try {
      const counts = await conversations.counts(this.status || undefined);
      // An older answer arriving after a newer one would show numbers from before the latest change.
      if (asked === this.#countsAsked) this.counts = counts;
    } catch {
      // The sidebar keeps its last numbers; the list shows the error if the server is away.
    }
  }

  async loadMore(): Promise<void> {
    if (!this.nextCursor || this.loadingMore) return;
    this.loadingMore = true;
    const generation = this.#generation;
    try {
      const page = await conversations.list(this.#params(this.nextCursor));
      if (generation !== this.#generation) return;
      this.#merge(page.items);
      this.nextCursor = page.nextCursor;
    } catch (err) {
      this.error = messageOf(err);
    } finally {
      this.loadingMore = false;
    }
  }

  /** Newer first page merged into what is shown, so that pages loaded further down stay. */
  async refresh(): Promise<string[]> {
    const generation = this.#generation;
    try {
      const page = await conversations.list(this.#params());
      // The filters changed while it was asked: the fresh load under the new ones is the list now.
      if (generation !== this.#generation) return [];
      const before: Record<string, number> = Object.fromEntries(this.items.map((c) => [c.id, c.version]));
      const changed = page.items.filter((c) => before[c.id] !== c.version).map((c) => c.id);
      this.#merge(page.items);
      if (!this.items.length) this.nextCursor = page.nextCursor;
      this.error = null;
      return changed;
    } catch (err) {
      this.error = messageOf(err);
      return [];
    }
  }

  #merge(incoming: ConversationSummary[]): void {
    const byId: Record<string, ConversationSummary> = Object.fromEntries(this.items.map((c) => [c.id, c]));
    for (const c of incoming) {
      const open = c.id === this.openId;
      byId[c.id] = open ? { ...c, unread: false } : c;
    }
    this.items = Object.values(byId).sort(newestFirst);
  }

  #highlight(ids: string[]): void {
    if (!ids.length) return;
    this.fresh = [...this.fresh, ...ids];
    setTimeout(() => (this.fresh = this.fresh.filter((id) => !ids.includes(id))), 4_000);
  }

  #refreshSoon(): void {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(async () => this.#highlight(await this.refresh()), REFRESH_DEBOUNCE_MS);
  }

  #countsSoon(): void {
    clearTimeout(this.#countsTimer);
    this.#countsTimer = setTimeout(() => void this.loadCounts(), REFRESH_DEBOUNCE_MS);
  }

  /** Applies a change heard live: the row is patched (or dropped if it no longer fits the filters, or fetched). */
  apply(change: ConversationChange): void {
    this.#countsSoon();
    if (!this.mailboxById[change.mailboxId] && this.mailboxes.length) return;
    const current = this.items.find((c) => c.id === change.id);
    if (!current) {
      if (this.matches(change)) this.#refreshSoon();
      return;
    }
    if (change.version < current.version) return;
    if (!this.matches(change) && change.id !== this.openId) {
      this.items = this.items.filter((c) => c.id !== change.id);
      return;
    }
    const newMail = change.reason === 'message' && change.lastMessageAt !== current.lastMessageAt;
    const patched: ConversationSummary = {
      ...current,
      status: change.status,
      assigneeId: change.assigneeId,
      tags: change.tags,
      snoozedUntil: change.snoozedUntil,
      lastMessageAt: change.lastMessageAt,
      messageCount: change.messageCount,
      version: change.version,
      unread: current.unread || (newMail && change.id !== this.openId && change.actorId !== this.userId),
    };
    this.items = this.items.map((c) => (c.id === change.id ? patched : c)).sort(newestFirst);
    // The snippet and sender of new mail come with the list.
    if (newMail) this.#refreshSoon();
    else this.#highlight([change.id]);
  }

  /** An account's health changed: its warning in the sidebar follows. */
  applyHealth(health: AccountHealth): void {
    if (!this.mailboxes.some((m) => m.account?.id === health.accountId)) return;
    this.mailboxes = this.mailboxes.map((m) =>
      m.account?.id === health.accountId
        ? { ...m, account: { ...m.account, status: health.status, lastError: health.lastError } }
        : m,
    );
  }

  /** This user read the conversation: bold no more, here and in the counts. */
  async markRead(id: string): Promise<void> {
    this.items = this.items.map((c) => (c.id === id && c.unread ? { ...c, unread: false } : c));
    try {
      await conversations.read(id);
    } catch {
      // Unread again on the next load; nothing else depends on it.
    }
    this.#countsSoon();
    inboxBadge.refreshSoon();
  }

  /** A row changed by this user (its PATCH answer). */
  replace(row: ConversationSummary): void {
    const current = this.items.find((c) => c.id === row.id);
    if (!current || current.version > row.version) return;
    this.items = this.items.map((c) =>
      c.id === row.id ? { ...c, ...row, contactName: c.contactName, companyName: c.companyName } : c,
    );
    this.#countsSoon();
  }

  /** The conversation `step` rows away from `id` (j/k), or the first one. */
  neighbour(id: string | null, step: 1 | -1): ConversationSummary | undefined {
    const at = id ? this.items.findIndex((c) => c.id === id) : -1;
    if (at < 0) return this.items[0];
    return this.items[Math.min(Math.max(at + step, 0), this.items.length - 1)];
  }

  /**
   * Follows the mailboxes' lists: every change patches the list, and `onMessage` hears which conversation got
   * a message. After a reconnect the list is refreshed (changes may have happened meanwhile).
   */
  start(onMessage?: (conversationId: string) => void): () => void {
    const stop = followInbox(
      (change) => {
        this.apply(change);
        if (change.reason === 'message') onMessage?.(change.id);
      },
      () => {
        this.#refreshSoon();
        this.#countsSoon();
      },
    );
    const stopHealth = followHealth((health) => this.applyHealth(health));
    return () => {
      stop();
      stopHealth();
      clearTimeout(this.#refreshTimer);
      clearTimeout(this.#countsTimer);
      this.#abort?.abort();
    };
  }
}

/** A teammate's reply that arrived while this user had the conversation open. */
export interface ReplyCollision {
  messageId: string;
  by: string | null;
  at: string;
}

/**
 * One open conversation with its messages, watched live: who else is on it (viewing, typing, replying), its
 * changes, and the replies teammates send meanwhile — which a draft of this user's must not ignore.
 */
export class ConversationThread {
  readonly id: string;
  conversation = $state.raw<ConversationDetail | null>(null);
  loading = $state(true);
  notFound = $state(false);
  error = $state<string | null>(null);
  /** Replies from teammates that came in while this user was writing one, newest last. */
  collisions = $state.raw<ReplyCollision[]>([]);
  /** Set while the composer waits for this user's answer to "send anyway?". */
  pendingConfirm = $state<ReplyCollision | null>(null);
  /** This user has a reply in progress (focus in the composer, or text in it). */
  drafting = $state(false);
  watch: RecordWatch | null = null;
  readonly #userId: string | null;
  #abort: AbortController | null = null;
  #known: Set<string> | null = null;
  /** Collisions the user has already confirmed sending over. */
  #acknowledged = $state(0);
  #resolveConfirm: ((go: boolean) => void) | null = null;
  #stops: (() => void)[] = [];
  #reloadTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(id: string, userId: string | null = null) {
    this.id = id;
    this.#userId = userId;
  }

  async load(): Promise<void> {
    this.#abort?.abort();
    const abort = (this.#abort = new AbortController());
    try {
      const conversation = await conversations.get(this.id, abort.signal);
      this.#noticeReplies(conversation.messages);
      this.conversation = conversation;
      this.error = null;
      this.notFound = false;
    } catch (err) {
      if (abort.signal.aborted) return;
      if (err instanceof ApiError && err.status === 404) this.notFound = true;
      else this.error = messageOf(err);
    } finally {
      if (this.#abort === abort) this.loading = false;
    }
  }

  /** Outgoing messages this page had not seen, sent by someone else: a collision with this user's draft. */
  #noticeReplies(messages: Message[]): void {
    const known = this.#known;
    // Bookkeeping, never rendered.
    // eslint-disable-next-line svelte/prefer-svelte-reactivity
    this.#known = new Set(messages.map((m) => m.id));
    // Only a reply that lands while this user is writing theirs is a collision; otherwise it is just news.
    if (!known || !this.drafting) return;
    const fresh = messages.filter(
      (m) => !known.has(m.id) && m.direction === 'outbound' && (m.sentBy ?? null) !== this.#userId,
    );
    if (fresh.length)
      this.collisions = [
        ...this.collisions,
        ...fresh.map((m) => ({ messageId: m.id, by: m.sentBy ?? null, at: m.sentAt ?? m.receivedAt })),
      ];
  }

  /** Reloads soon (several events about one change make one request). */
  reloadSoon(): void {
    clearTimeout(this.#reloadTimer);
    this.#reloadTimer = setTimeout(() => void this.load(), 100);
  }

  /** Starts watching the conversation (presence, its activities and changes) and the feed's mail about it. */
  start(): void {
    const watch = watcher.watch('conversation', this.id);
    this.watch = watch;
    this.#stops.push(
      () => watch.release(),
      // A change this page made itself is merged from the PATCH answer already: only others' changes reload.
      watch.onUpdate((update) => {
        // A message's delivery moved (SMS / WhatsApp ticks) without changing the conversation's version.
        const moved = (update.changes as Record<string, unknown> | undefined)?.messageId !== undefined;
        if (update.version !== this.conversation?.version || moved) this.reloadSoon();
      }),
      listen('activity:new', (activity: Activity) => {
        if (activity.data.conversationId === this.id && /^(email|message)\./.test(activity.type)) this.reloadSoon();
      }),
    );
  }

  /** Whether a teammate replied since this user last confirmed (what the composer must ask about). */
  get unconfirmed(): ReplyCollision | null {
    return this.collisions.length > this.#acknowledged ? this.collisions.at(-1)! : null;
  }

  /**
   * For the composer, before it sends: resolves true at once when nobody else replied meanwhile; otherwise
   * shows the warning and resolves with the user's choice (send anyway, or not).
   */
  confirmBeforeSend = (): Promise<boolean> => {
    const collision = this.unconfirmed;
    if (!collision) return Promise.resolve(true);
    this.#resolveConfirm?.(false);
    this.pendingConfirm = collision;
    return new Promise<boolean>((resolve) => (this.#resolveConfirm = resolve));
  };

  /** The user's answer to the warning. */
  answer(go: boolean): void {
    if (go) this.#acknowledged = this.collisions.length;
    this.pendingConfirm = null;
    this.#resolveConfirm?.(go);
    this.#resolveConfirm = null;
  }

  /** Presence: "replying" while this user has a reply in progress. */
  setDrafting(drafting: boolean): void {
    if (this.drafting === drafting) return;
    this.drafting = drafting;
    if (this.watch) watcher.setState(this.watch, drafting ? 'replying' : watcher.hidden ? 'idle' : 'viewing');
  }

  /** The last change sent: the next one waits for it, so that it carries the version that change made. */
  #updating: Promise<unknown> = Promise.resolve();

  /**
   * Changes status, assignee, tags or snooze; a stale version is reloaded and reported. Changes made in quick
   * succession (`a` then `e` on the keyboard) go one after the other, each with the version the previous made.
   */
  update(patch: ConversationPatch): Promise<ConversationSummary | null> {
    const run = this.#updating.catch(() => {}).then(() => this.#update(patch));
    this.#updating = run;
    return run;
  }

  async #update(patch: ConversationPatch): Promise<ConversationSummary | null> {
    const current = this.conversation;
    if (!current) return null;
    try {
      const row = await conversations.update(this.id, { ...patch, version: current.version });
      this.conversation = { ...current, ...row, messages: current.messages };
      this.error = null;
      return row;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) await this.load();
      throw err;
    }
  }

  stop(): void {
    this.#abort?.abort();
    clearTimeout(this.#reloadTimer);
    this.#resolveConfirm?.(false);
    for (const stop of this.#stops.splice(0)) stop();
  }
}
