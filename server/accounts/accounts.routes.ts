import { ApiRouter } from '../http/routes.ts';
import { HttpError } from '../http/errors.ts';
import { idOf, parseBody, parseQuery } from '../http/validate.ts';
import { actorOf } from '../auth/auth.middleware.ts';
import type { Services } from '../services.ts';
import {
  accountInput,
  accountOptions,
  accountPatch,
  accountTestInput,
  accountTestResult,
  emailAccount,
  emailAccountList,
  oauthCallbackQuery,
  oauthProviderParam,
} from './accounts.schemas.ts';

/** Where the browser lands after an OAuth2 sign-in, with the account or the error's code. */
const SETTINGS_PAGE = '/settings/email-accounts';

/** Members' own email accounts (IMAP and SMTP, or OAuth2): `/api/email-accounts`. */
export function accountsRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/email-accounts');

  r.get(
    '/',
    { summary: 'List the email accounts this user sees (admins: every account)', response: emailAccountList },
    async (req, res) => {
      res.json({ items: await s.accounts.list(actorOf(req)) });
    },
  );
  r.post(
    '/',
    { summary: 'Connect an email account', body: accountInput, response: emailAccount, status: 201 },
    async (req, res) => {
      res.status(201).json(await s.accounts.create(actorOf(req), parseBody(accountInput, req)));
    },
  );
  r.post(
    '/test',
    {
      summary: 'Test IMAP and SMTP settings (or a saved account): each side’s result in the server’s own words',
      body: accountTestInput,
      response: accountTestResult,
    },
    async (req, res) => {
      res.json(await s.accounts.test(actorOf(req), parseBody(accountTestInput, req)));
    },
  );
  r.get(
    '/oauth/options',
    { summary: 'Which OAuth2 sign-ins (Google, Microsoft) this server offers', response: accountOptions },
    (_req, res) => {
      res.json({ oauth: s.accountOAuth.configured() });
    },
  );
  r.get(
    '/oauth/:provider/start',
    {
      summary: 'Start connecting an account with Google or Microsoft: 302 to the provider (signed state, PKCE)',
      response: 'empty',
      status: 302,
    },
    async (req, res) => {
      const provider = oauthProviderParam.safeParse(req.params.provider);
      if (!provider.success) throw new HttpError(404, 'not_found', 'Unknown sign-in provider');
      res.redirect(302, await s.accountOAuth.start(actorOf(req), provider.data));
    },
  );
  r.get(
    '/oauth/callback',
    {
      summary:
        'The provider’s redirect back: exchanges the code, saves the account with its tokens, 302 to the settings page',
      query: oauthCallbackQuery,
      response: 'empty',
      status: 302,
    },
    async (req, res) => {
      const query = parseQuery(oauthCallbackQuery, req);
      try {
        const { accountId } = await s.accountOAuth.callback(actorOf(req), query);
        res.redirect(302, `${SETTINGS_PAGE}?connected=${accountId}`);
      } catch (err) {
        // A state that is not ours (forged, reused, another member's) gets no page of ours: only the error.
        if (!(err instanceof HttpError) || err.status >= 500 || err.code === 'oauth_state_invalid') throw err;
        res.redirect(302, `${SETTINGS_PAGE}?oauth_error=${encodeURIComponent(err.code)}`);
      }
    },
  );
  r.get('/:id', { summary: 'An email account, its settings and health', response: emailAccount }, async (req, res) => {
    res.json(await s.accounts.get(actorOf(req), idOf(req.params.id, 'Email account')));
  });
  r.patch(
    '/:id',
    { summary: 'Change an email account', body: accountPatch, response: emailAccount },
    async (req, res) => {
      res.json(
        await s.accounts.update(actorOf(req), idOf(req.params.id, 'Email account'), parseBody(accountPatch, req)),
      );
    },
  );
  r.delete(
    '/:id',
    { summary: 'Delete an email account with its mailbox and conversations', response: 'empty' },
    async (req, res) => {
      await s.accounts.remove(actorOf(req), idOf(req.params.id, 'Email account'));
      res.status(204).end();
    },
  );
  r.post('/:id/pause', { summary: 'Pause an account’s sync', response: emailAccount }, async (req, res) => {
    res.json(await s.accounts.setEnabled(actorOf(req), idOf(req.params.id, 'Email account'), false));
  });
  r.post('/:id/resume', { summary: 'Resume an account’s sync', response: emailAccount }, async (req, res) => {
    res.json(await s.accounts.setEnabled(actorOf(req), idOf(req.params.id, 'Email account'), true));
  });
  return r;
}
