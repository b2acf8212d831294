import type { AuthContext } from './auth/sessions.service.ts';

declare global {
  namespace Express {
    interface Request {
      /** Set by the authenticate middleware when the request carries a valid session. */
      auth?: AuthContext;
    }
  }
}
