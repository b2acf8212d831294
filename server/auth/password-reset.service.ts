import { randomBytes } from 'node:crypto';
import type { MikroORM } from '../../db/orm.ts';
import type { Logger } from '../logger.ts';
import type { Mailer } from '../delivery/mailer.ts';
import { HttpError } from '../http/errors.ts';
import { RateLimiter } from '../http/rate-limit.ts';
import { normalizeEmail } from './auth.service.ts';
import { hashPassword } from './passwords.ts';
import { weakPassword } from './common-passwords.ts';
import { hashToken, type SessionsService } from './sessions.service.ts';
import type { AccessPort } from './access.ts';

export const RESET_TTL_MS = 60 * 60_000;

interface ResetRow {
  user_id: string;
  email: string;
  used_at: Date | null;
  expires_at: Date;
}

/** Why a reset link does not work: unknown (a guess, counted by the credential limiter), used or expired. */
const linkInvalid = () => new HttpError(400, 'reset_link_invalid', 'This password reset link is not valid');
const linkUsed = () =>
  new HttpError(410, 'reset_link_used', 'This password reset link was already used: ask for a new one');
const linkExpired = () => new HttpError(410, 'reset_link_expired', 'This password reset link has expired: ask again');

/**
 * "Forgot password?": a mailed link whose token (256 random bits, stored as its SHA-256) works once, for an hour.
 * Asking answers alike whether or not the address has an account; setting the new password ends every session of
 * the user (and their open sockets) and signs them in.
 */
export class PasswordResetService {
  readonly #orm: MikroORM;
  readonly #sessions: SessionsService;
  readonly #mailer: Mailer;
  readonly #publicUrl: string;
  readonly #access: AccessPort | undefined;
  readonly #log: Logger | undefined;
  // Asking is cheap for the asker and costs a mail: a few per address, more per network address, an hour.
  readonly #perAddress = new RateLimiter(5, 60 * 60_000);
  readonly #perIp = new RateLimiter(30, 60 * 60_000);

  constructor(deps: {
    orm: MikroORM;
    sessions: SessionsService;
    mailer: Mailer;
    publicUrl: string;
    access?: AccessPort;
    log?: Logger;
  }) {
    this.#orm = deps.orm;
    this.#sessions = deps.sessions;
    this.#mailer = deps.mailer;
    this.#publicUrl = deps.publicUrl;
    this.#access = deps.access;
    this.#log = deps.log;
  }

  /**
   * Mails a reset link if the address has an account. The limits count the address whether it exists or not, and
   * the look-up, row and mail happen after the answer, so that neither the answer nor its time tells them apart.
   */
  request(email: string, meta: { ip?: string | undefined }): void {
    const address = normalizeEmail(email);
    this.#perIp.hit(`ip:${meta.ip ?? 'unknown'}`);
    this.#perAddress.hit(address);
    void this.#issue(address, meta).catch((err: unknown) =>
      this.#log?.warn({ err: (err as Error).message }, 'password reset mail failed'),
    );
  }

  /** Issues a link and mails it (used by `request`, and by tests that need the token itself). */
  async #issue(address: string, meta: { ip?: string | undefined }): Promise<string | null> {
    const conn = this.#orm.em.getConnection();
    const [user] = await conn.execute<{ id: string; name: string; locale: string | null }[]>(
      `select id, name, locale from users where email = ?`,
      [address],
    );
    if (!user) return null;
    const token = randomBytes(32).toString('base64url');
    // Links dead for a day are forgotten (kept that long to answer "expired" rather than "not valid").
    await conn.execute(`delete from password_resets where expires_at < now() - interval '1 day'`);
    await conn.execute(
      `insert into password_resets (token_hash, user_id, expires_at, requested_ip) values (?, ?, ?, ?)`,
      [hashToken(token), user.id, new Date(Date.now() + RESET_TTL_MS), meta.ip?.slice(0, 64) ?? null],
    );
    const link = `${this.#publicUrl}/reset-password#token=${token}`;
    const from = meta.ip ?? 'an unknown address';
    const it = user.locale === 'it';
    await this.#mailer.send({
      to: address,
      subject: it ? 'Reimposta la password di Filo' : 'Reset your Filo password',
      text: it
        ? `Ciao ${user.name},\n\nqualcuno (da ${from}), si spera tu, ha chiesto di reimpostare la password del tuo account Filo.\n\nScegli una nuova password: ${link}\n\nIl link vale un’ora e funziona una volta sola. Se non sei stato tu, ignora questa email: la password resta quella di prima.`
        : `Hello ${user.name},\n\nSomeone (from ${from}), hopefully you, asked to reset the password of your Filo account.\n\nChoose a new password: ${link}\n\nThe link is valid for one hour and works once. If it was not you, ignore this mail: your password stays as it is.`,
    });
    return token;
  }

  /** Whether a link still works (the page says at once when it does not). */
  async check(token: string): Promise<void> {
    const [row] = await this.#orm.em
      .getConnection()
      .execute<ResetRow[]>(
        `select r.user_id, u.email, r.used_at, r.expires_at from password_resets r join users u on u.id = r.user_id where r.token_hash = ?`,
        [hashToken(token)],
      );
    refuseDead(row);
  }

  /**
   * Sets the new password from a link, once: the link (and every other open link of the user) is used up, every
   * session of the user ends and their sockets are cut; then a session in their first workspace.
   */
  async reset(token: string, password: string, meta: { ip?: string | undefined; userAgent?: string | undefined }) {
    const { userId, email } = await this.#orm.em.fork().transactional(async (em) => {
      const [row] = (await em.execute(
        `select r.user_id, u.email, r.used_at, r.expires_at from password_resets r join users u on u.id = r.user_id
          where r.token_hash = ? for update of r`,
        [hashToken(token)],
      )) as ResetRow[];
      const live = refuseDead(row);
      const weak = weakPassword(password, live.email);
      if (weak) throw new HttpError(400, 'validation_failed', `The password ${weak}`, { password: weak });
      const hash = await hashPassword(password);
      await em.execute(`update users set password_hash = ? where id = ?`, [hash, live.user_id]);
      await em.execute(`update password_resets set used_at = now() where user_id = ? and used_at is null`, [
        live.user_id,
      ]);
      await em.execute(`delete from sessions where user_id = ?`, [live.user_id]);
      return { userId: live.user_id, email: live.email };
    });
    this.#access?.changed({ reason: 'password_changed', userId });
    const [home] = await this.#orm.em
      .getConnection()
      .execute<{ tenant_id: string | null }[]>(`select tenant_id from filo_login_lookup(?, null)`, [email]);
    if (!home?.tenant_id)
      throw new HttpError(403, 'no_workspace', 'Your password is changed, but this account is in no workspace');
    return this.#sessions.create(userId, home.tenant_id, meta);
  }
}

function refuseDead(row: ResetRow | undefined): ResetRow {
  if (!row) throw linkInvalid();
  if (row.used_at) throw linkUsed();
  if (new Date(row.expires_at).getTime() <= Date.now()) throw linkExpired();
  return row;
}
