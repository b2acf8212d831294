/** Shapes of the server's answers used by the web app. */

import type { Role } from '#contracts/common';

export type { Role };

export interface User {
  id: string;
  name: string;
  email: string;
  /** The interface language the user chose, kept on the server; `null` until they choose. */
  locale?: 'it' | 'en' | null;
}

export interface Workspace {
  id: string;
  name: string;
  slug: string;
}

/** `GET /api/auth/me`, and the answer to `POST /api/auth/login`. */
export interface Me {
  user: User;
  workspace: Workspace;
  role: Role;
}

export type CheckResult = 'ok' | 'error' | 'pending';

/** `GET /readyz`: 200 when ready, 503 with the same body when not. */
export interface Readiness {
  status: 'ready' | 'not_ready';
  checks: Record<string, CheckResult>;
}
