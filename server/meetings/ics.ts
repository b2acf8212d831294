/**
 * RFC 5545 calendars, written by hand: the few properties an invitation needs, escaped, folded at 75 octets
 * and joined with CRLF, as every calendar client expects.
 */

export interface IcsPerson {
  name: string;
  email: string;
}

export interface IcsEvent {
  /** Stable for the life of the meeting: clients match updates and cancellations on it. */
  uid: string;
  /** Raised on every change, so that clients apply it instead of ignoring it as stale. */
  sequence: number;
  stamp: Date;
  start: Date;
  end: Date;
  summary: string;
  description?: string | null;
  location?: string | null;
  url?: string | null;
  status: 'CONFIRMED' | 'CANCELLED';
  organizer?: IcsPerson | null;
  attendees?: IcsPerson[];
  created?: Date;
  lastModified?: Date;
}

export interface IcsCalendar {
  /** REQUEST (invitation or update), CANCEL, or none for a subscribed feed. */
  method?: 'REQUEST' | 'CANCEL' | 'PUBLISH';
  /** Shown by clients that subscribe to a feed. */
  name?: string;
  events: IcsEvent[];
}

const CRLF = '\r\n';

/** TEXT values: backslash, semicolon, comma and newlines escaped (RFC 5545 3.3.11). */
export function escapeText(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/;/g, '\\;')
    .replace(/,/g, '\\,')
    .replace(/\r\n|\r|\n/g, '\\n');
}

/** A parameter value (such as CN): quoted, without the characters a quoted value cannot hold. */
function paramValue(value: string): string {
  // eslint-disable-next-line no-control-regex
  return `"${value.replace(/["\x00-\x1f\x7f]/g, '').trim()}"`;
}

/**
 * Splits a content line into lines of at most 75 octets, continuation lines starting with one space
 * (RFC 5545 3.1), never inside a UTF-8 sequence.
 */
export function foldLine(line: string): string {
  const bytes = Buffer.from(line, 'utf8');
  if (bytes.length <= 75) return line;
  const parts: string[] = [];
  let start = 0;
  let limit = 75;
  while (start < bytes.length) {
    let end = Math.min(start + limit, bytes.length);
    // Back off to the first byte of a character: continuation bytes are 10xxxxxx.
    while (end < bytes.length && (bytes[end]! & 0xc0) === 0x80) end--;
    parts.push(bytes.subarray(start, end).toString('utf8'));
    start = end;
    limit = 74; // the leading space counts
  }
  return parts.join(`${CRLF} `);
}

/** UTC date-time form: 20261201T150000Z. */
export function icsDate(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

function eventLines(e: IcsEvent, method: IcsCalendar['method']): string[] {
  const lines = [
    'BEGIN:VEVENT',
    `UID:${escapeText(e.uid)}`,
    `SEQUENCE:${e.sequence}`,
    `DTSTAMP:${icsDate(e.stamp)}`,
    `DTSTART:${icsDate(e.start)}`,
    `DTEND:${icsDate(e.end)}`,
    `SUMMARY:${escapeText(e.summary)}`,
    `STATUS:${e.status}`,
  ];
  if (e.created) lines.push(`CREATED:${icsDate(e.created)}`);
  if (e.lastModified) lines.push(`LAST-MODIFIED:${icsDate(e.lastModified)}`);
  if (e.description) lines.push(`DESCRIPTION:${escapeText(e.description)}`);
  if (e.location) lines.push(`LOCATION:${escapeText(e.location)}`);
  if (e.url) lines.push(`URL:${e.url}`);
  if (e.organizer) lines.push(`ORGANIZER;CN=${paramValue(e.organizer.name)}:mailto:${e.organizer.email}`);
  const partstat = method === 'CANCEL' ? '' : ';PARTSTAT=NEEDS-ACTION;RSVP=TRUE';
  for (const a of e.attendees ?? [])
    lines.push(`ATTENDEE;CN=${paramValue(a.name)};ROLE=REQ-PARTICIPANT${partstat}:mailto:${a.email}`);
  lines.push('END:VEVENT');
  return lines;
}

/** A whole VCALENDAR object, CRLF line endings, folded. */
export function icsCalendar(cal: IcsCalendar): string {
  const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Filo//Filo CRM//EN', 'CALSCALE:GREGORIAN'];
  if (cal.method) lines.push(`METHOD:${cal.method}`);
  if (cal.name) lines.push(`X-WR-CALNAME:${escapeText(cal.name)}`);
  for (const event of cal.events) lines.push(...eventLines(event, cal.method));
  lines.push('END:VCALENDAR');
  return lines.map(foldLine).join(CRLF) + CRLF;
}
