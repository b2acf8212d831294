import { z } from 'zod';
import { oauthProvider } from '#contracts/accounts';

/** The bodies and answers are the contract's (contracts/accounts.ts); the server-only shapes are here. */
export {
  accountInput,
  accountOptions,
  accountPatch,
  accountTestInput,
  accountTestResult,
  emailAccount,
  emailAccountList,
} from '#contracts/accounts';

/** `GET /oauth/:provider/start`: where to come back to is always the settings page, so nothing else is taken. */
export const oauthProviderParam = oauthProvider;

/** The provider's redirect back: a code and our state, or its error. */
export const oauthCallbackQuery = z.object({
  code: z.string().min(1).max(4096).optional(),
  state: z.string().min(1).max(4096).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(2000).optional(),
});
