import { ApiError } from '#lib/api.ts';
import { moneyTotal } from '#lib/format.ts';
import type { RecordWatch } from '#lib/watch.svelte.ts';
import { companies } from './api.ts';
import { isOpenStage } from './labels.ts';
import type { Company, FullContext } from '#contracts/crm';

const REFRESH_DEBOUNCE_MS = 250;

/**
 * One company card: the company with its contacts, deals and documents (the full context), kept current through
 * the company's watch: `record:updated` patches the company's fields, the activities of the company and of its
 * contacts and deals (live, or missed while offline) reload the rest.
 */
export class CompanyCard {
  readonly id: string;
  context = $state<FullContext | null>(null);
  loading = $state(true);
  error = $state<string | null>(null);
  notFound = $state(false);
  deleted = $state(false);
  /** Bumped when someone else changed the company, for a brief highlight. */
  liveChanges = $state(0);

  readonly company = $derived(this.context?.company ?? null);
  readonly contacts = $derived(this.context?.contacts ?? []);
  readonly deals = $derived(this.context?.deals ?? []);
  readonly primary = $derived(this.contacts.find((c) => c.isPrimary) ?? this.contacts[0] ?? null);
  readonly openDeals = $derived(this.deals.filter((d) => isOpenStage(d.stage)));
  readonly openTotal = $derived(moneyTotal(this.openDeals));

  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(id: string) {
    this.id = id;
  }

  async load(): Promise<void> {
    try {
      this.context = await companies.fullContext(this.id);
      this.error = null;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        if (this.context) this.deleted = true;
        else this.notFound = true;
      } else this.error = err instanceof ApiError ? err.message : String(err);
    } finally {
      this.loading = false;
    }
  }

  /** Reloads a moment later; several changes in a row cost one request. */
  refreshSoon(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.load(), REFRESH_DEBOUNCE_MS);
  }

  /** After our own edit: the server's answer is the truth. */
  setCompany(company: Company): void {
    if (this.context) this.context = { ...this.context, company };
  }

  #applyUpdate(changes: Record<string, unknown>, version: number): void {
    const current = this.context?.company;
    if (!this.context || !current || version <= current.version) return;
    this.context = { ...this.context, company: { ...current, ...changes, version } as Company };
    this.liveChanges++;
  }

  /** Follows the company's watch; returns the teardown. */
  start(watch: RecordWatch): () => void {
    const offUpdated = watch.onUpdate((update) => {
      if (update.deleted) this.deleted = true;
      else this.#applyUpdate(update.changes, update.version);
    });
    const offActivity = watch.onActivity((activity, live) => {
      if (activity.type === 'company.deleted' && activity.entityId === this.id) {
        this.deleted = true;
        return;
      }
      // Live, the company's own changes arrive as `record:updated` (above); missed ones need a reload.
      if (live && watch.status === 'watching' && activity.type === 'company.updated' && activity.entityId === this.id)
        return;
      // Notes have their own list; everything else may change the card's contacts, deals or fields.
      if (!activity.type.startsWith('note.')) this.refreshSoon();
    });
    return () => {
      clearTimeout(this.#timer);
      offUpdated();
      offActivity();
    };
  }
}
