import type { Campaign, CampaignPatch } from '#contracts/campaigns';
import type { BlockDocument } from '#contracts/newsletters';
import { ApiError } from '#lib/api.ts';
import { conflictOf } from '#lib/crm/versioned-edit.svelte.ts';
import { HistoryStack } from './document.ts';

type Changes = Omit<CampaignPatch, 'version'>;
export type SaveState = 'saved' | 'pending' | 'saving' | 'error';

/** Where the server found a bad token: `{field, line, column}` of a 400 `unknown_token`. */
export interface TokenPosition {
  field: string;
  line: number;
  column: number;
}

/** How long typing may pause before the draft is saved. */
const AUTOSAVE_MS = 700;

/**
 * One open campaign: what the screens show (the saved record with the user's unsaved changes on top), the undo
 * history of each content (the campaign's, and each variant's own), and the autosave: changes are sent together,
 * debounced, with the version they were made on; a 409 keeps them aside to reapply on the current record or drop.
 */
export class CampaignEditor {
  campaign = $state.raw<Campaign>() as Campaign;
  /** Which content the canvas edits: the campaign's (null) or a variant's, by key. */
  target = $state<string | null>(null);
  selected = $state<string | null>(null);
  state = $state<SaveState>('saved');
  savedAt = $state<number | null>(null);
  error = $state<string | null>(null);
  fieldErrors = $state<Record<string, string>>({});
  tokenPosition = $state<TokenPosition | null>(null);
  /** The record as it is now on the server, when our changes were refused as stale. */
  conflict = $state.raw<Campaign | null>(null);
  /** Bumped when a history changes, so that canUndo/canRedo re-render. */
  #historyTick = $state(0);
  #pending: Changes = {};
  #timer: ReturnType<typeof setTimeout> | undefined;
  #saving: Promise<void> | null = null;
  // Not reactive on purpose: #historyTick tells the views when a history changed.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #histories = new Map<string, HistoryStack<BlockDocument>>();
  readonly #update: (id: string, body: CampaignPatch) => Promise<Campaign>;

  constructor(campaign: Campaign, update: (id: string, body: CampaignPatch) => Promise<Campaign>) {
    this.campaign = campaign;
    this.#update = update;
  }

  /** Drafts and scheduled campaigns change; once sending starts the record is history. */
  get editable(): boolean {
    return this.campaign.status === 'draft' || this.campaign.status === 'scheduled';
  }

  get doc(): BlockDocument {
    const variant = this.target ? this.campaign.variants.find((v) => v.key === this.target) : undefined;
    return variant?.content ?? this.campaign.content;
  }

  #history(): HistoryStack<BlockDocument> {
    const key = this.target ?? '';
    let h = this.#histories.get(key);
    if (!h) this.#histories.set(key, (h = new HistoryStack<BlockDocument>()));
    return h;
  }

  get canUndo(): boolean {
    void this.#historyTick;
    return this.#history().canUndo;
  }
  get canRedo(): boolean {
    void this.#historyTick;
    return this.#history().canRedo;
  }

  /** A new version of the edited content; `key` groups a burst of typing in one field into one undo step. */
  edit(next: BlockDocument, key: string | null = null): void {
    if (!this.editable || next === this.doc) return;
    this.#history().push(this.doc, key);
    this.#historyTick++;
    this.#setDoc(next);
  }

  undo(): void {
    const previous = this.#history().undo(this.doc);
    this.#historyTick++;
    if (previous) this.#setDoc(previous);
  }

  redo(): void {
    const next = this.#history().redo(this.doc);
    this.#historyTick++;
    if (next) this.#setDoc(next);
  }

  /** Ends a typing burst (leaving a field): the next change is an undo step of its own. */
  seal(): void {
    this.#history().seal();
  }

  #setDoc(next: BlockDocument): void {
    if (this.target === null) this.change({ content: next });
    else
      this.change({
        variants: this.campaign.variants.map((v) => (v.key === this.target ? { ...v, content: next } : v)),
      });
  }

  /** Changes fields of the campaign now on screen and saves them soon. */
  change(changes: Changes): void {
    if (!this.editable) return;
    this.campaign = { ...this.campaign, ...changes } as Campaign;
    this.#pending = { ...this.#pending, ...changes };
    for (const key of Object.keys(changes)) delete this.fieldErrors[key];
    if (this.conflict) return;
    this.state = 'pending';
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.flush(), AUTOSAVE_MS);
  }

  /** Saves what is pending now (and, after it, what was changed meanwhile). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    while (this.#saving) await this.#saving;
    if (this.conflict || Object.keys(this.#pending).length === 0) return;
    const sent = this.#pending;
    this.#pending = {};
    this.state = 'saving';
    this.#saving = this.#send(sent);
    try {
      await this.#saving;
    } finally {
      this.#saving = null;
    }
    // The state was changed by the request (TypeScript still sees the 'saving' set above).
    if (Object.keys(this.#pending).length && (this.state as SaveState) !== 'error' && !this.conflict)
      await this.flush();
  }

  async #send(sent: Changes): Promise<void> {
    try {
      const saved = await this.#update(this.campaign.id, { ...sent, version: this.campaign.version });
      // What was sent stays as typed (the server trims), and what was typed during the request stays on top.
      this.campaign = { ...saved, ...sent, ...this.#pending } as Campaign;
      this.state = Object.keys(this.#pending).length ? 'pending' : 'saved';
      this.savedAt = Date.now();
      this.error = null;
      this.fieldErrors = {};
      this.tokenPosition = null;
    } catch (err) {
      this.#pending = { ...sent, ...this.#pending };
      const conflict = conflictOf<Campaign>(err);
      if (conflict) {
        this.conflict = conflict.current;
        this.state = 'error';
        return;
      }
      this.state = 'error';
      this.error = err instanceof Error ? err.message : String(err);
      if (err instanceof ApiError) {
        this.fieldErrors = err.fields ?? {};
        const position = err.body?.position as TokenPosition | undefined;
        this.tokenPosition = position && typeof position.line === 'number' ? position : null;
        if (err.code === 'campaign_not_editable') this.#pending = {};
      }
    }
  }

  /** After a conflict: our changes again, on top of the record as it is now. */
  async reapply(): Promise<void> {
    const current = this.conflict;
    if (!current) return;
    this.conflict = null;
    this.campaign = { ...current, ...this.#pending } as Campaign;
    await this.flush();
  }

  /** After a conflict: the record as it is now, our changes dropped (and the undo history with them). */
  discard(): void {
    const current = this.conflict;
    if (!current) return;
    this.conflict = null;
    this.#pending = {};
    this.campaign = current;
    this.#histories.clear();
    this.#historyTick++;
    this.state = 'saved';
    this.error = null;
  }

  /** A record heard from a command (send, pause...): it replaces the one on screen, keeping unsaved changes. */
  replace(campaign: Campaign): void {
    this.campaign = { ...campaign, ...this.#pending } as Campaign;
  }

  /** Selects the content to edit (a variant's own, or the campaign's). */
  editTarget(key: string | null): void {
    this.target = key;
    this.selected = null;
  }
}
