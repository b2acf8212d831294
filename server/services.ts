import type { MikroORM } from '../db/orm.ts';
import { AuthService } from './auth/auth.service.ts';
import { SessionsService } from './auth/sessions.service.ts';

/** One instance of each domain service, wired once per process and handed to routes, sockets and jobs. */
export interface Services {
  sessions: SessionsService;
  auth: AuthService;
}

export function createServices(orm: MikroORM): Services {
  const sessions = new SessionsService(orm);
  return { sessions, auth: new AuthService(orm, sessions) };
}
