import { createHmac, randomBytes } from 'node:crypto';

/** A new signing secret: 32 random bytes, shown once to the workspace. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

/** `Filo-Signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>` (the receiver checks t too). */
export function webhookSignature(secret: string, body: string, at = Math.floor(Date.now() / 1000)): string {
  const v1 = createHmac('sha256', secret).update(`${at}.${body}`).digest('hex');
  return `t=${at},v1=${v1}`;
}

/** The purpose the secret is encrypted under (server/crypto): a value encrypted for another use does not decrypt. */
export const SECRET_PURPOSE = 'webhook-secret';
