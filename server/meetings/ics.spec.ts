import ICAL from 'ical.js';
import { describe, expect, it } from 'vitest';
import { escapeText, foldLine, icsCalendar, type IcsEvent } from './ics.ts';

const event = (over: Partial<IcsEvent> = {}): IcsEvent => ({
  uid: '0b9f7a52-1c1e-4d7e-9a51-3f3f0c0d9f10@crm.example.com',
  sequence: 2,
  stamp: new Date('2026-11-25T10:00:00Z'),
  start: new Date('2026-12-01T15:00:00Z'),
  end: new Date('2026-12-01T15:45:00Z'),
  summary: 'Revisione offerta; fase 2, “perché” è urgente',
  description: `Agenda:\n1. prezzi, sconti; tempi\n2. ${'è'.repeat(120)} back\\slash`,
  location: 'https://crm.example.com/call/0b9f7a52',
  url: 'https://crm.example.com/call/0b9f7a52',
  status: 'CONFIRMED',
  organizer: { name: 'Mario "the boss" Rossi', email: 'mario@example.com' },
  attendees: [
    { name: 'Giulia Neri', email: 'giulia@acme.example' },
    { name: 'Rossi, Sara; CFO', email: 'sara@acme.example' },
  ],
  ...over,
});

/** Parsed back by ical.js, an independent RFC 5545 implementation. */
const parse = (text: string) => new ICAL.Component(ICAL.parse(text));

describe('RFC 5545 output', () => {
  it('is read back by ical.js with every value intact', () => {
    const text = icsCalendar({ method: 'REQUEST', events: [event()] });
    const cal = parse(text);
    expect(cal.getFirstPropertyValue('method')).toBe('REQUEST');
    expect(cal.getFirstPropertyValue('version')).toBe('2.0');
    const vevent = cal.getFirstSubcomponent('vevent')!;
    const e = new ICAL.Event(vevent);
    expect(e.uid).toBe(event().uid);
    expect(e.sequence).toBe(2);
    expect(e.summary).toBe(event().summary);
    expect(e.description).toBe(event().description);
    expect(e.location).toBe(event().location);
    expect(e.startDate.toJSDate().toISOString()).toBe('2026-12-01T15:00:00.000Z');
    expect(e.endDate.toJSDate().toISOString()).toBe('2026-12-01T15:45:00.000Z');
    expect(vevent.getFirstPropertyValue('status')).toBe('CONFIRMED');
    const organizer = vevent.getFirstProperty('organizer')!;
    expect(organizer.getFirstValue()).toBe('mailto:mario@example.com');
    expect(organizer.getParameter('cn')).toBe('Mario the boss Rossi');
    const attendees = e.attendees.map((a) => [a.getParameter('cn'), a.getFirstValue(), a.getParameter('rsvp')]);
    expect(attendees).toEqual([
      ['Giulia Neri', 'mailto:giulia@acme.example', 'TRUE'],
      ['Rossi, Sara; CFO', 'mailto:sara@acme.example', 'TRUE'],
    ]);
  });

  it('uses CRLF only and folds every line at 75 octets without splitting a character', () => {
    const text = icsCalendar({ method: 'REQUEST', events: [event()] });
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    const lines = text.split('\r\n').slice(0, -1);
    for (const line of lines) expect(Buffer.byteLength(line, 'utf8'), line).toBeLessThanOrEqual(75);
    // The long description did need folding, and every piece is valid UTF-8 on its own.
    expect(lines.filter((l) => l.startsWith(' ')).length).toBeGreaterThan(3);
    // A character cut in two would have been decoded as U+FFFD.
    expect(text).not.toContain('\uFFFD');
  });

  it('escapes TEXT values and folds exactly as RFC 5545 shows', () => {
    expect(escapeText('a,b;c\\d\ne')).toBe('a\\,b\\;c\\\\d\\ne');
    const long = `DESCRIPTION:${'x'.repeat(200)}`;
    const folded = foldLine(long).split('\r\n');
    expect(folded[0]).toHaveLength(75);
    expect(folded.slice(1).every((l) => l.startsWith(' ') && l.length <= 75)).toBe(true);
    expect(folded.map((l, i) => (i ? l.slice(1) : l)).join('')).toBe(long);
    expect(foldLine('SUMMARY:short')).toBe('SUMMARY:short');
    // Two-byte characters across the boundary: lines end before the character rather than inside it.
    const accented = `SUMMARY:${'è'.repeat(100)}`;
    const pieces = foldLine(accented).split('\r\n');
    for (const piece of pieces) expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(75);
    expect(pieces.join('')).not.toContain('\uFFFD');
    expect(pieces.map((l, i) => (i ? l.slice(1) : l)).join('')).toBe(accented);
  });

  it('cancels with METHOD:CANCEL and STATUS:CANCELLED, keeping the UID', () => {
    const cal = parse(icsCalendar({ method: 'CANCEL', events: [event({ status: 'CANCELLED', sequence: 3 })] }));
    expect(cal.getFirstPropertyValue('method')).toBe('CANCEL');
    const vevent = cal.getFirstSubcomponent('vevent')!;
    expect(vevent.getFirstPropertyValue('status')).toBe('CANCELLED');
    expect(vevent.getFirstPropertyValue('sequence')).toBe(3);
    expect(vevent.getFirstPropertyValue('uid')).toBe(event().uid);
  });
});
