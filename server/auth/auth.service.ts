import type { MikroORM } from '../../db/orm.ts';
import type { MemberRole } from '../../db/entities/membership.entity.ts';
import { HttpError } from '../http/errors.ts';
import { decoyHash, verifyPassword } from './passwords.ts';
import type { SessionsService } from './sessions.service.ts';

interface Credentials {
  email: string;
  password: string;
  workspace?: string | undefined;
}

interface LoginRow {
  user_id: string;
  password_hash: string;
  tenant_id: string | null;
  role: MemberRole | null;
}

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export class AuthService {
  readonly #orm: MikroORM;
  readonly #sessions: SessionsService;

  constructor(orm: MikroORM, sessions: SessionsService) {
    this.#orm = orm;
    this.#sessions = sessions;
  }

  /** Checks the password and opens a session in the chosen (or first joined) workspace. */
  async login(credentials: Credentials, meta: { ip?: string | undefined; userAgent?: string | undefined }) {
    const rows = await this.#orm.em
      .getConnection()
      .execute<LoginRow[]>(`select * from filo_login_lookup(?, ?)`, [
        normalizeEmail(credentials.email),
        credentials.workspace ?? null,
      ]);
    const row = rows[0];
    const valid = await verifyPassword(row?.password_hash ?? (await decoyHash()), credentials.password);
    if (!row || !valid) throw new HttpError(401, 'invalid_credentials', 'Email or password is not correct');
    if (!row.tenant_id) throw new HttpError(403, 'no_workspace', 'This account is not a member of that workspace');
    const session = await this.#sessions.create(row.user_id, row.tenant_id, meta);
    const context = await this.#sessions.resolve(session.token);
    if (!context) throw new HttpError(500, 'internal_error', 'The new session could not be read back');
    return { ...session, context };
  }
}
