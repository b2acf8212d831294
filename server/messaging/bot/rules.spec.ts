import { describe, expect, it } from 'vitest';
import { decide, isOpen, LOOP_LIMIT, type BotContext, type BotRule, type BusinessHours } from './rules.ts';

const hours: BusinessHours = {
  timeZone: 'Europe/Rome',
  days: [1, 2, 3, 4, 5].map((day) => ({ day, start: '09:00', end: '18:00' })),
};
const rules: BotRule[] = [
  { id: 'closed', trigger: { kind: 'outside_hours' }, actions: [{ kind: 'reply', text: 'We are closed' }] },
  {
    id: 'price',
    trigger: { kind: 'keyword', words: ['price', 'prezzo'] },
    actions: [
      { kind: 'ask', field: 'email', prompt: 'Your email?' },
      { kind: 'tag', tag: 'lead' },
      { kind: 'reply', text: 'Thanks, a person will write' },
      { kind: 'handover' },
    ],
  },
  { id: 'hello', trigger: { kind: 'first_message' }, actions: [{ kind: 'reply', templateId: 'tpl-1' }] },
];
// Monday 2026-12-07 10:00 in Rome is 09:00 UTC.
const monday10 = new Date('2026-12-07T09:00:00Z');
const ctx = (over: Partial<BotContext> & { text: string; at?: Date; first?: boolean }): BotContext => ({
  rules,
  hours,
  humanTookOver: false,
  state: null,
  ...over,
  message: { text: over.text, at: over.at ?? monday10, first: over.first ?? false },
});

describe('chatbot rules', () => {
  it('read opening hours in the account time zone', () => {
    expect(isOpen(hours, monday10)).toBe(true);
    // 17:30 UTC is 18:30 in Rome: closed, though still within 09-18 in UTC.
    expect(isOpen(hours, new Date('2026-12-07T17:30:00Z'))).toBe(false);
    expect(isOpen(hours, new Date('2026-12-06T10:00:00Z'))).toBe(false);
    expect(isOpen(null, monday10)).toBe(true);
  });

  it('answer the first matching rule: outside hours, a keyword, the first message', () => {
    expect(decide(ctx({ text: 'hi', at: new Date('2026-12-07T20:00:00Z') })).steps).toEqual([
      { kind: 'reply', text: 'We are closed' },
    ]);
    expect(decide(ctx({ text: 'hi', first: true })).steps).toEqual([
      { kind: 'reply', text: undefined, templateId: 'tpl-1' },
    ]);
    const d = decide(ctx({ text: 'hi there' }));
    expect(d).toMatchObject({ steps: [], status: 'bot' });
  });

  it('ask for a field, re-ask once on a bad answer, store it, then run the rest and hand over', () => {
    const asked = decide(ctx({ text: 'What is the PRICE?' }));
    expect(asked.steps).toEqual([{ kind: 'reply', text: 'Your email?' }]);
    expect(asked.state?.asking?.field).toBe('email');
    const again = decide(ctx({ text: 'not telling', state: asked.state }));
    expect(again.steps).toEqual([{ kind: 'reply', text: 'Your email?' }]);
    const done = decide(ctx({ text: 'it is Ada@Example.com thanks', state: again.state }));
    expect(done).toEqual({
      steps: [
        { kind: 'store', field: 'email', value: 'ada@example.com' },
        { kind: 'tag', tag: 'lead' },
        { kind: 'reply', text: 'Thanks, a person will write' },
        { kind: 'handover', reason: 'rule' },
      ],
      state: null,
      status: 'open',
    });
    const twice = decide(ctx({ text: 'no', state: again.state }));
    expect(twice).toMatchObject({ steps: [{ kind: 'handover', reason: 'unanswered' }], status: 'open' });
  });

  it('stay silent once a person took over', () => {
    expect(decide(ctx({ text: 'price', first: true, humanTookOver: true }))).toEqual({
      steps: [],
      state: null,
      status: 'open',
    });
  });

  it('hand over instead of looping with another bot: its own reply echoed, or too many replies in the window', () => {
    const first = decide(ctx({ text: 'hi', at: new Date('2026-12-07T20:00:00Z') }));
    const echo = decide(ctx({ text: 'We are closed', at: new Date('2026-12-07T20:00:01Z'), state: first.state }));
    expect(echo).toEqual({ steps: [{ kind: 'handover', reason: 'loop' }], state: null, status: 'open' });
    let state = first.state;
    let replies = 1;
    for (let i = 0; i < 10; i++) {
      const d = decide(ctx({ text: `hello ${i}`, at: new Date(Date.parse('2026-12-07T20:00:02Z') + i), state }));
      if (d.status === 'open') {
        expect(d.steps).toEqual([{ kind: 'handover', reason: 'loop' }]);
        break;
      }
      replies += d.steps.length;
      state = d.state;
    }
    expect(replies).toBe(LOOP_LIMIT);
    // A new window after ten minutes answers again.
    const later = decide(ctx({ text: 'hello again', at: new Date('2026-12-07T20:11:00Z'), state }));
    expect(later.steps).toEqual([{ kind: 'reply', text: 'We are closed' }]);
  });
});
