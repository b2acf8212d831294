import type { MikroORM } from '../../db/orm.ts';
import type { MemberRole } from '../../db/entities/membership.entity.ts';
import { HttpError } from '../http/errors.ts';
import { decoyHash, hashPassword, verifyPassword } from './passwords.ts';
import type { SessionsService } from './sessions.service.ts';
import type { AccessPort } from './access.ts';

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
  readonly #access: AccessPort | undefined;

  constructor(orm: MikroORM, sessions: SessionsService, access?: AccessPort) {
    this.#orm = orm;
    this.#sessions = sessions;
    this.#access = access;
  }

  /**
   * A new password, given the current one. Every other session of the user (in every workspace) ends, and
   * their open sockets with them; the session that asked (`keepSession`, a token hash) stays signed in.
   */
  async changePassword(userId: string, current: string, next: string, keepSession?: string): Promise<void> {
    const conn = this.#orm.em.getConnection();
    const [row] = await conn.execute<{ password_hash: string }[]>(`select password_hash from users where id = ?`, [
      userId,
    ]);
    if (!row || !(await verifyPassword(row.password_hash, current)))
      throw new HttpError(401, 'invalid_credentials', 'The current password is not correct');
    const hash = await hashPassword(next);
    await this.#orm.em.fork().transactional(async (em) => {
      await em.execute(`update users set password_hash = ? where id = ?`, [hash, userId]);
      await em.execute(`delete from sessions where user_id = ? and token_hash <> ?`, [userId, keepSession ?? '']);
    });
    this.#access?.changed({ reason: 'password_changed', userId });
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
