/**
 * Someone's access changed (signed out, removed, demoted, password changed, token revoked, mailbox members
 * changed): services announce it after commit, and the realtime module re-checks the open sockets concerned
 * on every node against the database (cutting those that no longer authenticate). Every node also drops the
 * cached sessions and tokens concerned, including for the changes that only alter what a sign-in resolves to
 * (a name, a picture, a workspace's name or logo, a token's grants).
 */
export interface AccessChange {
  reason:
    | 'logout'
    | 'session_expired'
    | 'member_removed'
    | 'role_changed'
    | 'mailboxes_changed'
    | 'password_changed'
    | 'token_revoked'
    | 'token_changed'
    | 'profile_changed'
    | 'workspace_changed';
  /** The workspace concerned; unset = every workspace of the user (a password is the user's, not a workspace's). */
  tenantId?: string | undefined;
  /** The user concerned; unset = everyone in the workspace (a mailbox's members changed). */
  userId?: string | undefined;
}

export interface AccessPort {
  changed(change: AccessChange): void;
}

/** What an open socket holds is untouched by these: re-checking a workspace's every socket on a rename is waste. */
const CREDENTIALS_ONLY = new Set<AccessChange['reason']>(['token_changed', 'profile_changed', 'workspace_changed']);
export const affectsSockets = (change: AccessChange) => !CREDENTIALS_ONLY.has(change.reason);

/** A process's cache of resolved credentials (server/auth/auth-cache.ts). */
export interface CredentialCache {
  forget(change: AccessChange): void;
  clear(): void;
  trusted: () => boolean;
}

/**
 * Until the realtime module (or a worker's Redis emitter) is up, there are no sockets to re-check; this process's
 * credential caches hear every change at once, whether made here (`changed`) or on another node (`heard`).
 */
export class AccessSlot implements AccessPort {
  target: AccessPort | undefined;
  readonly #caches: CredentialCache[] = [];

  register(cache: CredentialCache): void {
    this.#caches.push(cache);
  }

  changed(change: AccessChange) {
    this.heard(change);
    this.target?.changed(change);
  }

  /** A change made on another node. Mailbox membership is not part of a resolved credential. */
  heard(change: AccessChange) {
    if (change.reason === 'mailboxes_changed') return;
    for (const cache of this.#caches) cache.forget(change);
  }

  /**
   * Whether other nodes' changes reach this one now (the Redis adapter or the LISTEN connection is up): while they
   * do not, the caches serve nothing.
   */
  channel(up: () => boolean): void {
    for (const cache of this.#caches) cache.trusted = up;
  }

  /** Empties the caches: the channel went down or came back, and what they hold may have missed a change meanwhile. */
  reset(): void {
    for (const cache of this.#caches) cache.clear();
  }
}
