import { ApiError } from '../api.ts';
import type { Activity } from '../crm/types.ts';
import { listen } from '../realtime.ts';
import { conversations, mailboxes as mailboxesApi } from './api.ts';
import type { ConversationDetail, ConversationStatus, ConversationSummary, Mailbox } from './types.ts';

const PAGE_SIZE = 50;
/** A burst of mail (a mailing, a retry of many) refreshes the list once. */
const REFRESH_DEBOUNCE_MS = 250;

/** Activity types that mean a conversation got a new message. */
export const MAIL_ACTIVITIES = ['email.received', 'email.auto_reply'] as const;
export const isMailActivity = (a: Activity): boolean => (MAIL_ACTIVITIES as readonly string[]).includes(a.type);

const conversationOf = (a: Activity): string | null =>
  typeof a.data.conversationId === 'string' ? a.data.conversationId : null;

const newestFirst = (a: ConversationSummary, b: ConversationSummary) =>
  b.lastMessageAt.localeCompare(a.lastMessageAt) || b.id.localeCompare(a.id);

const messageOf = (err: unknown) => (err instanceof ApiError ? err.message : String(err));

/**
 * The shared inbox's list: the conversations of the mailboxes this user sees, filtered by mailbox and status,
 * newest first, more on demand. New mail on the workspace feed refreshes it (and the open conversation).
 */
export class InboxList {
  mailboxes = $state.raw<Mailbox[]>([]);
  items = $state.raw<ConversationSummary[]>([]);
  nextCursor = $state<string | null>(null);
  loading = $state(false);
  loadingMore = $state(false);
  error = $state<string | null>(null);
  /** Ids that arrived live, for a short highlight. */
  fresh = $state.raw<string[]>([]);

  mailboxId = $state('');
  status = $state<ConversationStatus | ''>('');

  readonly mailboxById: Record<string, Mailbox | undefined> = $derived(
    Object.fromEntries(this.mailboxes.map((m) => [m.id, m])),
  );
  #abort: AbortController | null = null;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;

  #params(cursor?: string | null) {
    return {
      mailboxId: this.mailboxId || undefined,
      status: this.status || undefined,
      limit: PAGE_SIZE,
      cursor: cursor ?? undefined,
    };
  }

  async loadMailboxes(): Promise<void> {
    this.mailboxes = await mailboxesApi.list();
  }

  /** The first page with the current filters (replacing the list). */
  async load(): Promise<void> {
    this.#abort?.abort();
    const abort = (this.#abort = new AbortController());
    this.loading = true;
    try {
      const page = await conversations.list(this.#params(), abort.signal);
      this.items = page.items;
      this.nextCursor = page.nextCursor;
      this.error = null;
    } catch (err) {
      if (!abort.signal.aborted) this.error = messageOf(err);
    } finally {
      if (this.#abort === abort) this.loading = false;
    }
  }

  async loadMore(): Promise<void> {
    if (!this.nextCursor || this.loadingMore) return;
    this.loadingMore = true;
    try {
      const page = await conversations.list(this.#params(this.nextCursor));
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
    try {
      const page = await conversations.list(this.#params());
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
    for (const c of incoming) byId[c.id] = c;
    this.items = Object.values(byId).sort(newestFirst);
  }

  #refreshSoon(): void {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(async () => {
      const changed = await this.refresh();
      if (!changed.length) return;
      this.fresh = [...this.fresh, ...changed];
      setTimeout(() => (this.fresh = this.fresh.filter((id) => !changed.includes(id))), 4_000);
    }, REFRESH_DEBOUNCE_MS);
  }

  /**
   * Listens to the workspace feed: mail for a shown mailbox refreshes the list, and `onMail` hears which
   * conversation it was for. After a reconnect the list is refreshed (mail may have come in meanwhile).
   */
  start(onMail?: (conversationId: string) => void): () => void {
    const offActivity = listen('activity:new', (activity) => {
      if (!isMailActivity(activity)) return;
      const mailbox = typeof activity.data.mailboxId === 'string' ? activity.data.mailboxId : null;
      if (this.mailboxId && mailbox && mailbox !== this.mailboxId) return;
      this.#refreshSoon();
      const id = conversationOf(activity);
      if (id) onMail?.(id);
    });
    const offConnect = listen('connect', () => this.#refreshSoon());
    return () => {
      offActivity();
      offConnect();
      clearTimeout(this.#refreshTimer);
      this.#abort?.abort();
    };
  }
}

/** One open conversation with its messages. */
export class ConversationThread {
  readonly id: string;
  conversation = $state.raw<ConversationDetail | null>(null);
  loading = $state(true);
  notFound = $state(false);
  error = $state<string | null>(null);
  #abort: AbortController | null = null;

  constructor(id: string) {
    this.id = id;
  }

  async load(): Promise<void> {
    this.#abort?.abort();
    const abort = (this.#abort = new AbortController());
    try {
      this.conversation = await conversations.get(this.id, abort.signal);
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

  stop(): void {
    this.#abort?.abort();
  }
}
