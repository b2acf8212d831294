import { ApiError } from '#lib/api.ts';
import type { RecordWatch } from '#lib/watch.svelte.ts';
import { conversations } from './api.ts';
import { isMailActivity } from './inbox.svelte.ts';
import type { ConversationSummary } from '#contracts/inbox';

const LIMIT = 50;

/** The conversations with one company (in the mailboxes this user sees), refreshed when mail from it arrives. */
export class CompanyEmails {
  readonly companyId: string;
  items = $state.raw<ConversationSummary[]>([]);
  /** More than {@link LIMIT}: the count shows as "50+". */
  more = $state(false);
  loaded = $state(false);
  error = $state<string | null>(null);

  constructor(companyId: string) {
    this.companyId = companyId;
  }

  get count(): string | undefined {
    return this.loaded ? `${this.items.length}${this.more ? '+' : ''}` : undefined;
  }

  async load(): Promise<void> {
    try {
      const page = await conversations.list({ companyId: this.companyId, limit: LIMIT });
      this.items = page.items;
      this.more = page.nextCursor !== null;
      this.error = null;
    } catch (err) {
      this.error = err instanceof ApiError ? err.message : String(err);
    } finally {
      this.loaded = true;
    }
  }

  #reload: ReturnType<typeof setTimeout> | undefined;

  /**
   * Reloads on mail for the company (its watch hands over its contacts' activities too), once per burst (a
   * mailing, a retry of many); returns the teardown.
   */
  start(watch: RecordWatch): () => void {
    const stop = watch.onActivity((activity) => {
      if (!isMailActivity(activity)) return;
      clearTimeout(this.#reload);
      this.#reload = setTimeout(() => void this.load(), 150);
    });
    return () => {
      clearTimeout(this.#reload);
      stop();
    };
  }
}
