/**
 * Someone's access changed (signed out, removed, demoted, password changed, token revoked, mailbox members
 * changed): services announce it after commit, and the realtime module re-checks the open sockets concerned
 * on every node against the database (cutting those that no longer authenticate).
 */
export interface AccessChange {
  reason:
    | 'logout'
    | 'session_expired'
    | 'member_removed'
    | 'role_changed'
    | 'mailboxes_changed'
    | 'password_changed'
    | 'token_revoked';
  /** The workspace concerned; unset = every workspace of the user (a password is the user's, not a workspace's). */
  tenantId?: string | undefined;
  /** The user concerned; unset = everyone in the workspace (a mailbox's members changed). */
  userId?: string | undefined;
}

export interface AccessPort {
  changed(change: AccessChange): void;
}

/** Until the realtime module (or a worker's Redis emitter) is up, there are no sockets to re-check. */
export class AccessSlot implements AccessPort {
  target: AccessPort | undefined;
  changed(change: AccessChange) {
    this.target?.changed(change);
  }
}
