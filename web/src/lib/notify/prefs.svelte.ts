import { DEFAULT_NOTIFICATION_PREFS, type NotificationPrefs } from '#contracts/preferences';
import { notifyApi } from './api.ts';

/** The signed-in user's notification preferences, loaded once and saved live on every change. */
class NotifyPrefs {
  value = $state<NotificationPrefs | null>(null);
  saving = $state(false);
  error = $state<string | null>(null);
  #loading: Promise<NotificationPrefs> | null = null;
  /** What the server holds, as last answered. */
  #stored: NotificationPrefs | null = null;
  #version = 0;
  #queue: Promise<void> = Promise.resolve();

  /** The stored preferences (fetched once per sign-in); the defaults until known. */
  get current(): NotificationPrefs {
    return this.value ?? DEFAULT_NOTIFICATION_PREFS;
  }

  ensure(): Promise<NotificationPrefs> {
    this.#loading ??= notifyApi.get().then(
      (prefs) => (this.value = this.#stored = prefs),
      (err: unknown) => {
        this.#loading = null;
        throw err;
      },
    );
    return this.#loading;
  }

  /**
   * Saves at once, one request at a time: changes made while a save is on its way are sent together after it, so a
   * slower earlier answer can neither overwrite a later choice on screen nor reach the server after it. On failure
   * the last stored value comes back and the error is shown.
   */
  async save(patch: Partial<NotificationPrefs>): Promise<void> {
    this.#stored ??= this.current;
    this.value = { ...this.current, ...patch };
    const version = ++this.#version;
    this.saving = true;
    this.error = null;
    const turn = this.#queue.then(async () => {
      if (version !== this.#version) return; // a later change is queued and sends this one with it
      try {
        this.#stored = await notifyApi.put(this.current);
        if (version === this.#version) this.value = this.#stored;
      } catch (err) {
        if (version !== this.#version) return;
        this.value = this.#stored;
        this.error = (err as Error).message;
      }
    });
    this.#queue = turn;
    await turn;
    if (version === this.#version) this.saving = false;
  }

  reset(): void {
    this.value = this.#stored = null;
    this.#loading = null;
  }
}

export const notifyPrefs = new NotifyPrefs();
