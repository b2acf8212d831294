import { FixedWindows, tooMany } from '../http/rate-limit.ts';

/** Mail a workspace makes Filo send to addresses it chooses: each kind has its own budget per workspace. */
export type SendKind = 'invitation' | 'meeting';

export interface SendLimit {
  /** Mails allowed per window. */
  limit: number;
  windowMs: number;
}

const HOUR = 60 * 60_000;

/** Enough for a team onboarding at once or a busy calendar; far too few to use Filo as a spam cannon. */
export const DEFAULT_SEND_LIMITS: Record<SendKind, SendLimit> = {
  invitation: { limit: 30, windowMs: HOUR },
  meeting: { limit: 300, windowMs: HOUR },
};

/**
 * Per-workspace budgets of mail sent on a workspace's behalf (invitations, meeting invitations) through the
 * operator's relay. Fixed windows in memory, per process: with several nodes each counts its own share.
 *
 *   limits.take(tenantId, 'invitation');            // throws 429 `send_limited` (retryAfter seconds) when over
 *   if (!limits.tryTake(tenantId, 'meeting', 3)) …  // false when over: for jobs that skip and log instead
 */
export class SendLimits {
  readonly #limits: Record<SendKind, SendLimit>;
  readonly #windows: Record<SendKind, FixedWindows>;

  constructor(limits: Partial<Record<SendKind, SendLimit>> = {}, now: () => number = Date.now) {
    this.#limits = { ...DEFAULT_SEND_LIMITS, ...limits };
    this.#windows = {
      invitation: new FixedWindows(this.#limits.invitation.windowMs, now),
      meeting: new FixedWindows(this.#limits.meeting.windowMs, now),
    };
  }

  /** Counts `n` mails when they fit in the workspace's budget; false (and nothing counted) when they do not. */
  tryTake(tenantId: string, kind: SendKind, n = 1): boolean {
    const entry = this.#windows[kind].current(tenantId);
    if (entry.count + n > this.#limits[kind].limit) return false;
    entry.count += n;
    return true;
  }

  /** Counts `n` mails, or throws 429 `send_limited` with `retryAfter` (seconds) when they do not fit. */
  take(tenantId: string, kind: SendKind, n = 1): void {
    if (this.tryTake(tenantId, kind, n)) return;
    const windows = this.#windows[kind];
    throw tooMany(
      windows.remainingMs(windows.current(tenantId)),
      'send_limited',
      (seconds) =>
        `This workspace has sent too many ${kind === 'invitation' ? 'invitations' : 'meeting mails'}: try again in ${Math.ceil(seconds / 60)} min`,
    );
  }

  /** Gives back mails counted for a send that did not happen (the write failed after `take`). */
  release(tenantId: string, kind: SendKind, n = 1): void {
    const entry = this.#windows[kind].peek(tenantId);
    if (entry) entry.count = Math.max(0, entry.count - n);
  }
}
