import { createPrivateKey, createPublicKey } from 'node:crypto';
import type { z } from 'zod';
import type { dkimSettingsInput, MailboxTransport, smtpSettingsInput } from '#contracts/inbox';
import type { Mailbox } from '../../db/entities/mailbox.entity.ts';
import type { Secrets } from '../crypto/secrets.ts';
import { HttpError } from '../http/errors.ts';
import type { SmtpSettings } from './mailer.ts';
import { SmtpTargetRefused, type SmtpTargetPolicy } from './smtp-target.ts';

export const SMTP_PASSWORD = 'mailbox.smtp_password';
export const DKIM_KEY = 'mailbox.dkim_private_key';

export { dkimSettingsInput, smtpSettingsInput, transportFields } from '#contracts/inbox';

export type TransportDto = MailboxTransport;

/** The domain of the address a mailbox sends from (its public address, else its inbound one). */
export const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/** The DKIM DNS record for a private key: `v=DKIM1; k=rsa; p=<public key>`. */
export function dkimDnsRecord(privateKeyPem: string): string {
  const key = createPrivateKey(privateKeyPem);
  const der = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const type = key.asymmetricKeyType === 'ed25519' ? 'ed25519' : 'rsa';
  // Ed25519 records carry the raw 32-byte key, RSA ones the SubjectPublicKeyInfo.
  const p = type === 'ed25519' ? der.subarray(der.length - 32) : der;
  return `v=DKIM1; k=${type}; p=${p.toString('base64')}`;
}

export function transportDto(mailbox: Mailbox, fromAddress: string, secrets: Secrets | undefined): TransportDto {
  let dnsRecord: string | null = null;
  if (mailbox.dkimPrivateKeyEnc && secrets) {
    try {
      dnsRecord = dkimDnsRecord(secrets.decrypt(mailbox.dkimPrivateKeyEnc, DKIM_KEY));
    } catch {
      dnsRecord = null;
    }
  }
  const domain = domainOf(fromAddress);
  return {
    smtp: mailbox.smtpHost
      ? {
          host: mailbox.smtpHost,
          port: mailbox.smtpPort ?? 587,
          secure: mailbox.smtpSecure,
          user: mailbox.smtpUser ?? null,
          hasPassword: Boolean(mailbox.smtpPasswordEnc),
        }
      : null,
    dkim: mailbox.dkimSelector
      ? {
          selector: mailbox.dkimSelector,
          domain,
          hasPrivateKey: Boolean(mailbox.dkimPrivateKeyEnc),
          dnsName: `${mailbox.dkimSelector}._domainkey.${domain}`,
          dnsRecord,
        }
      : null,
  };
}

/** RSA DKIM keys shorter than this are refused (RFC 8301 requires receivers to reject keys under 1024 bits). */
export const DKIM_MIN_RSA_BITS = 2048;

/** A workspace's SMTP host must be one Filo may connect to: 400 with a generic message (the detail is logged). */
export async function checkSmtpHost(policy: SmtpTargetPolicy, host: string): Promise<void> {
  try {
    await policy.resolve(host);
  } catch (err) {
    if (!(err instanceof SmtpTargetRefused)) throw err;
    throw new HttpError(400, 'smtp_host_refused', err.message, { 'smtp.host': 'must be a public mail server' });
  }
}

/** Applies the SMTP and DKIM parts of a mailbox create/patch body: secrets encrypted, keys checked. */
export function applyTransport(
  mailbox: Mailbox,
  input: { smtp?: z.infer<typeof smtpSettingsInput> | null; dkim?: z.infer<typeof dkimSettingsInput> | null },
  secrets: Secrets,
): void {
  if (input.smtp === null) {
    Object.assign(mailbox, {
      smtpHost: null,
      smtpPort: null,
      smtpSecure: false,
      smtpUser: null,
      smtpPasswordEnc: null,
    });
  } else if (input.smtp) {
    const port = input.smtp.port ?? mailbox.smtpPort ?? 587;
    const user = input.smtp.user === undefined ? (mailbox.smtpUser ?? null) : input.smtp.user || null;
    // The stored password goes only where it was entered for: another host, port or user needs it typed again.
    const elsewhere =
      input.smtp.host !== mailbox.smtpHost || port !== (mailbox.smtpPort ?? 587) || user !== (mailbox.smtpUser ?? null);
    if (mailbox.smtpPasswordEnc && input.smtp.password === undefined && elsewhere)
      throw new HttpError(400, 'password_required', 'Changing the SMTP host, port or user needs the password again', {
        'smtp.password': 'enter the password again when the host, port or user changes',
      });
    mailbox.smtpHost = input.smtp.host;
    mailbox.smtpPort = port;
    mailbox.smtpSecure = input.smtp.secure ?? port === 465;
    mailbox.smtpUser = user;
    if (input.smtp.password === null || input.smtp.password === '') mailbox.smtpPasswordEnc = null;
    else if (input.smtp.password !== undefined)
      mailbox.smtpPasswordEnc = secrets.encrypt(input.smtp.password, SMTP_PASSWORD);
  }
  if (input.dkim === null) {
    mailbox.dkimSelector = null;
    mailbox.dkimPrivateKeyEnc = null;
  } else if (input.dkim) {
    if (input.dkim.privateKey) {
      let bits: number | undefined;
      try {
        const key = createPrivateKey(input.dkim.privateKey);
        if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ed25519') throw new Error('type');
        if (key.asymmetricKeyType === 'rsa') bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      } catch {
        throw new HttpError(400, 'validation_failed', 'The DKIM key is not a PEM RSA or Ed25519 private key', {
          'dkim.privateKey': 'must be a PEM private key (RSA or Ed25519)',
        });
      }
      if (bits !== undefined && bits < DKIM_MIN_RSA_BITS)
        throw new HttpError(400, 'validation_failed', `The DKIM key has ${bits} bits: RSA keys need at least 2048`, {
          'dkim.privateKey': `an RSA key of at least ${DKIM_MIN_RSA_BITS} bits`,
        });
      mailbox.dkimPrivateKeyEnc = secrets.encrypt(input.dkim.privateKey, DKIM_KEY);
    } else if (!mailbox.dkimPrivateKeyEnc) {
      throw new HttpError(400, 'validation_failed', 'A DKIM selector needs a private key', {
        'dkim.privateKey': 'is required',
      });
    }
    mailbox.dkimSelector = input.dkim.selector;
  }
}

/** The mailbox's own SMTP server, password decrypted, or null to use the relay / outbox. */
export function smtpOf(mailbox: Mailbox, secrets: Secrets): SmtpSettings | null {
  if (!mailbox.smtpHost) return null;
  return {
    host: mailbox.smtpHost,
    port: mailbox.smtpPort ?? 587,
    secure: mailbox.smtpSecure,
    user: mailbox.smtpUser ?? null,
    password: mailbox.smtpPasswordEnc ? secrets.decrypt(mailbox.smtpPasswordEnc, SMTP_PASSWORD) : null,
  };
}

/** nodemailer's per-message DKIM options, or undefined when the mailbox has no key. */
export function dkimOf(mailbox: Mailbox, fromAddress: string, secrets: Secrets) {
  if (!mailbox.dkimSelector || !mailbox.dkimPrivateKeyEnc) return undefined;
  const privateKey = secrets.decrypt(mailbox.dkimPrivateKeyEnc, DKIM_KEY);
  // A weak key saved before they were refused signs nothing: receivers would treat the signature as broken anyway.
  const key = createPrivateKey(privateKey);
  if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < DKIM_MIN_RSA_BITS)
    return undefined;
  return { domainName: domainOf(fromAddress), keySelector: mailbox.dkimSelector, privateKey };
}
