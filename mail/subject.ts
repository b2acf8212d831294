import type { ParsedMail } from './parse.ts';

/**
 * One leading reply/forward marker or `[list tag]`. Markers in the languages our users' correspondents write: Re, Fwd,
 * Fw, AW/WG (de), R/I/Rif (it), SV/VS (nordic), Antw/Doorst (nl), Tr (fr), RES/Enc (pt), Odp (pl), YNT (tr), and the
 * Chinese ones; with an optional count (`Re[2]:`, `Re(2):`, `Re^2:`) and a full-width colon.
 */
const PREFIX =
  /^\s*(?:\[[^\]]{0,100}\]|(?:re|fwd?|aw|wg|r|i|rif|sv|vs|antw|doorst|tr|res|enc|odp|ynt|回复|回覆|答复|转发|轉寄)\s*(?:\[\d{1,4}\]|\(\d{1,4}\)|\^\d{1,4})?\s*[:：])/i;

/** The subject as threading compares it: no reply/forward/list prefixes, whitespace collapsed, lower-case. */
export function normalizeSubject(s: string): string {
  let subject = s.normalize('NFC');
  for (let m = PREFIX.exec(subject); m; m = PREFIX.exec(subject)) subject = subject.slice(m[0].length);
  return subject.replace(/\s+/g, ' ').trim().toLowerCase();
}

/** Every address on the message (From, To, Cc, Reply-To), lower-cased, once each, sorted. */
export function participantsOf(mail: Pick<ParsedMail, 'from' | 'to' | 'cc' | 'replyTo'>): string[] {
  const all = [mail.from, ...mail.to, ...mail.cc, ...mail.replyTo].flatMap((a) =>
    a ? [a.address.trim().toLowerCase()] : [],
  );
  return [...new Set(all.filter(Boolean))].sort();
}
