export type ToastTone = 'info' | 'success' | 'error';

export interface Toast {
  id: number;
  tone: ToastTone;
  message: string;
  detail?: string;
  /** What "Open" does, e.g. go to the record a mention is about. */
  open?: () => void;
}

const DEFAULT_MS = 6_000;

/** Short messages in a corner of the screen; each goes away by itself or when dismissed. */
class Toasts {
  items = $state<Toast[]>([]);
  #next = 1;

  push(toast: Omit<Toast, 'id'>, ms = DEFAULT_MS): number {
    const id = this.#next++;
    this.items = [...this.items, { ...toast, id }];
    if (ms > 0) setTimeout(() => this.dismiss(id), ms);
    return id;
  }

  error(message: string): number {
    return this.push({ tone: 'error', message }, 8_000);
  }

  dismiss(id: number): void {
    this.items = this.items.filter((t) => t.id !== id);
  }
}

export const toasts = new Toasts();
