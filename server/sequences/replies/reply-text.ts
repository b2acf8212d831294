/**
 * What a prospect's reply says, read from its own words only: the quoted mail below it (our footer, our own words)
 * never counts. Pure functions, no I/O.
 */

/** Lines that start the quoted original in English and Italian mail clients. */
const QUOTE_HEADER =
  /^(?:on .{0,200} wrote:|il .{0,200} ha scritto:|-{2,}\s*(?:original message|messaggio originale)\s*-{2,}|_{5,}|(?:from|da):\s.+)$/i;

/** The reply's own text: up to the first quoted line or quote header, at most 2,000 characters. */
export function ownWords(text: string): string {
  const out: string[] = [];
  for (const line of text.slice(0, 20_000).split(/\r?\n/)) {
    const t = line.trim();
    if (t.startsWith('>') || QUOTE_HEADER.test(t)) break;
    out.push(t);
  }
  return out.join('\n').trim().slice(0, 2000);
}

/**
 * Asking to hear no more, in English and Italian (a small list: anything else is a reply the owner reads). A lone
 * "stop" counts only as the whole first line, as in SMS; inside a sentence it is too common a word.
 */
const STOP_PHRASES = [
  /\bunsubscribe\b/i,
  /\bremove me\b/i,
  /\btake me off\b/i,
  /\bstop (?:e-?mailing|sending|contacting|writing)\b/i,
  /\b(?:do not|don'?t) (?:e-?mail|contact|write to) me\b/i,
  /\bopt[- ]?out\b/i,
  /\b(?:cancellami|cancellatemi|rimuovimi|rimuovetemi|toglimi|toglietemi|disiscrivimi|disiscrivetemi)\b/i,
  /\bnon (?:scrivetemi|scrivermi|contattatemi|contattarmi|mandatemi)\b/i,
  /\bdisiscri(?:vi|zione|vere)\b/i,
];

export function asksToStop(mail: { subject: string; text: string }): boolean {
  const own = ownWords(mail.text);
  const firstLine = own.split('\n', 1)[0] ?? '';
  if (/^\s*(?:stop|basta)\s*[.!]*\s*$/i.test(firstLine)) return true;
  const subject = mail.subject.replace(/^\s*(?:(?:re|r|aw|fwd?|i)\s*:\s*)+/i, '');
  return STOP_PHRASES.some((re) => re.test(own) || re.test(subject));
}

const MONTHS: Record<string, number> = {
  jan: 1, january: 1, gen: 1, gennaio: 1,
  feb: 2, february: 2, febbraio: 2,
  mar: 3, march: 3, marzo: 3,
  apr: 4, april: 4, aprile: 4,
  may: 5, mag: 5, maggio: 5,
  jun: 6, june: 6, giu: 6, giugno: 6,
  jul: 7, july: 7, lug: 7, luglio: 7,
  aug: 8, august: 8, ago: 8, agosto: 8,
  sep: 9, sept: 9, september: 9, set: 9, settembre: 9,
  oct: 10, october: 10, ott: 10, ottobre: 10,
  nov: 11, november: 11, novembre: 11,
  dec: 12, december: 12, dic: 12, dicembre: 12,
}; // prettier-ignore

const MONTH = Object.keys(MONTHS).join('|');
const DATES = [
  /\b(\d{4})-(\d{2})-(\d{2})\b/g,
  /\b(\d{1,2})[./](\d{1,2})(?:[./](\d{2,4}))?\b/g,
  new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th)?\\s+(${MONTH})\\.?(?:\\s+(\\d{4}))?\\b`, 'gi'),
  new RegExp(`\\b(${MONTH})\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?(?:,?\\s+(\\d{4}))?\\b`, 'gi'),
];

/**
 * The day an out-of-office says its writer is back: the latest date it names within the next 60 days (the end of
 * an absence is its last date), as UTC midnight; null when it names none.
 */
export function returnDate(mail: { subject: string; text: string }, now: Date): Date | null {
  const text = `${mail.subject}\n${ownWords(mail.text)}`;
  const year = now.getUTCFullYear();
  const found: Date[] = [];
  const add = (y: number | undefined, m: number, d: number) => {
    if (!(m >= 1 && m <= 12 && d >= 1 && d <= 31)) return;
    const candidates = y ? [y < 100 ? 2000 + y : y] : [year, year + 1];
    for (const yy of candidates) {
      const at = new Date(Date.UTC(yy, m - 1, d));
      if (at.getUTCDate() !== d) continue;
      if (at.getTime() > now.getTime() && at.getTime() <= now.getTime() + 60 * 86_400_000) found.push(at);
    }
  };
  for (const m of text.matchAll(DATES[0]!)) add(Number(m[1]), Number(m[2]), Number(m[3]));
  for (const m of text.matchAll(DATES[1]!)) add(m[3] ? Number(m[3]) : undefined, Number(m[2]), Number(m[1]));
  for (const m of text.matchAll(DATES[2]!))
    add(m[3] ? Number(m[3]) : undefined, MONTHS[m[2]!.toLowerCase()]!, Number(m[1]));
  for (const m of text.matchAll(DATES[3]!))
    add(m[3] ? Number(m[3]) : undefined, MONTHS[m[1]!.toLowerCase()]!, Number(m[2]));
  if (!found.length) return null;
  return new Date(Math.max(...found.map((d) => d.getTime())));
}
