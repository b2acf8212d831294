import { DEFAULT_NOTIFICATION_PREFS, type NotificationPrefs } from '#contracts/preferences';
import { notifyApi } from './api.ts';

/** The signed-in user's notification preferences, loaded once and saved live on every change. */
class NotifyPrefs {
  value = $state<NotificationPrefs | null>(null);
  saving = $state(false);
  error = $state<string | null>(null);
  #loading: Promise<NotificationPrefs> | null = null;

  /** The stored preferences (fetched once per sign-in); the defaults until known. */
  get current(): NotificationPrefs {
    return this.value ?? DEFAULT_NOTIFICATION_PREFS;
  }

  ensure(): Promise<NotificationPrefs> {
    this.#loading ??= notifyApi.get().then(
      (prefs) => (this.value = prefs),
      (err: unknown) => {
        this.#loading = null;
        throw err;
      },
    );
    return this.#loading;
  }

  /** Saves at once; on failure the previous value comes back and the error is shown. */
  async save(patch: Partial<NotificationPrefs>): Promise<void> {
    const before = this.current;
    this.value = { ...before, ...patch };
    this.saving = true;
    this.error = null;
    try {
      this.value = await notifyApi.put(this.value);
    } catch (err) {
      this.value = before;
      this.error = (err as Error).message;
    } finally {
      this.saving = false;
    }
  }

  reset(): void {
    this.value = null;
    this.#loading = null;
  }
}

export const notifyPrefs = new NotifyPrefs();
