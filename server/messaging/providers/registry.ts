import type { MessagingProvider } from '#contracts/messaging';
import { HttpError } from '../../http/errors.ts';
import { twilioProvider } from './twilio.ts';
import { telegramProvider } from './telegram.ts';
import { discordProvider } from './discord.ts';
import { vonageProvider } from './vonage.ts';
import type { MessagingProviderImpl } from './types.ts';

/** Every provider Filo speaks: add one line per provider file (see types.ts for how a provider plugs in). */
const PROVIDERS: MessagingProviderImpl<never, never>[] = [
  twilioProvider as MessagingProviderImpl<never, never>,
  telegramProvider as MessagingProviderImpl<never, never>,
  discordProvider as MessagingProviderImpl<never, never>,
  vonageProvider as MessagingProviderImpl<never, never>,
];

const byId = new Map(PROVIDERS.map((p) => [p.id, p as unknown as MessagingProviderImpl]));

/** The provider of this name; 400 `provider_unavailable` when Filo does not speak it (yet). */
export function providerOf(id: MessagingProvider | string): MessagingProviderImpl {
  const provider = byId.get(id as MessagingProvider);
  if (!provider) throw new HttpError(400, 'provider_unavailable', `Filo does not support ${id} yet`);
  return provider;
}

/** The providers available in this build. */
export const availableProviders = (): MessagingProvider[] => [...byId.keys()];
