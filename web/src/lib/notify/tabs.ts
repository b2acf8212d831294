/**
 * Filo's tabs of one user in this browser, told apart over a BroadcastChannel: each says when it becomes visible or
 * hidden (and, while visible, every 15 s), and one of them, holding a Web Lock until it closes, is the leader that
 * shows system notifications, so that one notification shows rather than one per tab.
 */

type TabMessage = { type: 'state'; id: string; visible: boolean } | { type: 'bye'; id: string } | { type: 'hello' };

/** A visible tab that went quiet this long ago (closed without saying so) no longer counts. */
const STALE_MS = 45_000;
const HEARTBEAT_MS = 15_000;

export class TabCoordinator {
  readonly id = crypto.randomUUID();
  readonly #scope: string;
  readonly #visibleOthers = new Map<string, number>();
  #leader = false;

  constructor(scope: string) {
    this.#scope = scope;
  }

  /** Whether this tab is the one that shows notifications. */
  get leader(): boolean {
    return this.#leader;
  }

  /** This tab or another of Filo's is in front of the user. */
  anyVisible(): boolean {
    if (document.visibilityState === 'visible') return true;
    const now = Date.now();
    for (const seen of this.#visibleOthers.values()) if (now - seen < STALE_MS) return true;
    return false;
  }

  start(): () => void {
    const channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(`filo-tabs:${this.#scope}`);
    const post = (message: TabMessage) => channel?.postMessage(message);
    const announce = () => post({ type: 'state', id: this.id, visible: document.visibilityState === 'visible' });
    const bye = () => post({ type: 'bye', id: this.id });
    if (channel)
      channel.onmessage = ({ data }: MessageEvent<TabMessage>) => {
        if (data.type === 'hello') return announce();
        if (data.id === this.id) return;
        if (data.type === 'state' && data.visible) this.#visibleOthers.set(data.id, Date.now());
        else this.#visibleOthers.delete(data.id);
      };
    post({ type: 'hello' });
    announce();
    document.addEventListener('visibilitychange', announce);
    window.addEventListener('pagehide', bye);
    const heartbeat = setInterval(() => {
      if (document.visibilityState === 'visible') announce();
    }, HEARTBEAT_MS);

    // The lock is held until this tab stops (or closes): the next waiting tab then leads.
    const stop = new AbortController();
    let release: (() => void) | null = null;
    if (typeof navigator !== 'undefined' && navigator.locks) {
      navigator.locks
        .request(`filo-notify-leader:${this.#scope}`, { signal: stop.signal }, () => {
          this.#leader = true;
          return new Promise<void>((resolve) => (release = resolve));
        })
        .catch(() => {});
    } else {
      // No Web Locks: every tab may show it; the notification's tag still makes the system keep one.
      this.#leader = true;
    }

    return () => {
      bye();
      clearInterval(heartbeat);
      document.removeEventListener('visibilitychange', announce);
      window.removeEventListener('pagehide', bye);
      stop.abort();
      (release as (() => void) | null)?.();
      this.#leader = false;
      channel?.close();
    };
  }
}
