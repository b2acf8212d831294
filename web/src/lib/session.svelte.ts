import { ApiError, request } from './api.ts';
import type { Me } from '#contracts/auth';

/** Who is signed in, in which workspace. `me` is `null` until known, and after signing out. */
class Session {
  me = $state<Me | null>(null);

  readonly user = $derived(this.me?.user ?? null);
  readonly workspace = $derived(this.me?.workspace ?? null);
  readonly role = $derived(this.me?.role ?? null);

  /** Asks the server who we are: the signed-in user, or `null` when the session cookie is missing or expired. */
  async load(fetcher?: typeof fetch): Promise<Me | null> {
    try {
      this.me = await request<Me>('/api/auth/me', { fetch: fetcher });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) this.me = null;
      else throw err;
    }
    return this.me;
  }

  /** Signs in; throws an `ApiError` (`invalid_credentials`, `rate_limited`, `validation_failed`, ...). */
  async login(email: string, password: string): Promise<Me> {
    const me = await request<Me>('/api/auth/login', { method: 'POST', body: { email, password } });
    this.me = me;
    return me;
  }

  /**
   * Asks for a workspace: the answer is the same whether or not the email has an account (`validation_failed`,
   * `rate_limited`); what happens next is mailed to it.
   */
  async signup(input: { workspace: string; name: string; email: string; password: string }): Promise<void> {
    await request<{ status: 'check_inbox' }>('/api/auth/signup', { method: 'POST', body: input });
  }

  /** The mailed sign-up link: creates the workspace and signs in (`signup_link_used`, `signup_link_expired`, ...). */
  async confirmSignup(token: string): Promise<Me> {
    const me = await request<Me>('/api/auth/signup/confirm', { method: 'POST', body: { token } });
    this.me = me;
    return me;
  }

  /**
   * Accepts an invitation (the token from the link's fragment) and signs in to that workspace: a new account
   * with name and password, or the signed-in account (`sign_in_required` when the email has another one).
   */
  async acceptInvite(input: { token: string; name?: string; password?: string }): Promise<Me> {
    const me = await request<Me>('/api/auth/accept-invite', { method: 'POST', body: input });
    this.me = me;
    return me;
  }

  /** Keeps the user's language on the server, so that it follows them to other browsers. Best effort. */
  async saveLocale(locale: 'it' | 'en'): Promise<void> {
    if (!this.me || this.me.user.locale === locale) return;
    this.me = { ...this.me, user: { ...this.me.user, locale } };
    try {
      await request<Me>('/api/auth/me', { method: 'PATCH', body: { locale } });
    } catch (err) {
      console.warn('could not save the language', err);
    }
  }

  /** Ends the session on the server; whatever happens there, this tab forgets the user. */
  async logout(): Promise<void> {
    try {
      await request<void>('/api/auth/logout', { method: 'POST' });
    } catch (err) {
      // Already signed out there: nothing to do. Anything else is still a sign-out for this tab.
      if (!(err instanceof ApiError && err.status === 401)) console.warn('logout failed', err);
    } finally {
      this.me = null;
    }
  }
}

/** "Ada Lovelace" -> "Ada". */
export function firstNameOf(name: string): string {
  return name.trim().split(/\s+/)[0] || name;
}

export const session = new Session();
