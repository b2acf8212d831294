import { describe, expect, it } from 'vitest';
import { normalizeSubject, participantsOf } from '../../mail/subject.ts';

describe('normalizeSubject', () => {
  it.each([
    ['Quote for 40 seats', 'quote for 40 seats'],
    ['Re: Quote for 40 seats', 'quote for 40 seats'],
    ['RE: RE: re: Quote', 'quote'],
    ['Fwd: FW: Fw: Quote', 'quote'],
    ['AW: WG: Angebot', 'angebot'],
    ['R: I: Preventivo', 'preventivo'],
    ['Rif: preventivo', 'preventivo'],
    ['SV: VS: Tilbud', 'tilbud'],
    ['Antw: offerte', 'offerte'],
    ['Re[2]: Quote', 'quote'],
    ['Re(3): Quote', 'quote'],
    ['Re^2: Quote', 'quote'],
    ['Re : Devis', 'devis'],
    ['TR: Re : Devis', 'devis'],
    ['回复：报价', '报价'],
    ['[acme-sales] Re: [JIRA] Fwd: Quote', 'quote'],
    ['  Re:   Quote    for\t40\nseats  ', 'quote for 40 seats'],
    ['QUOTE for SEATS', 'quote for seats'],
    ['', ''],
    ['Re:', ''],
  ])('%j -> %j', (input, expected) => {
    expect(normalizeSubject(input)).toBe(expected);
  });

  it('leaves words that merely start like a prefix alone', () => {
    expect(normalizeSubject('Rebate: 10% off')).toBe('rebate: 10% off');
    expect(normalizeSubject('Trial: extended')).toBe('trial: extended');
    expect(normalizeSubject('Idea: new plan')).toBe('idea: new plan');
    expect(normalizeSubject('Meeting Re: budget')).toBe('meeting re: budget');
  });

  it('gives the same result for composed and decomposed accents', () => {
    expect(normalizeSubject('Re: Cafe\u0301')).toBe(normalizeSubject('Café'));
  });

  it('strips thousands of stacked prefixes', () => {
    expect(normalizeSubject(`${'Re: '.repeat(5000)}Quote`)).toBe('quote');
  });
});

describe('participantsOf', () => {
  it('lists from, to, cc and reply-to addresses once each, lower-cased and sorted', () => {
    const a = (address: string) => ({ address, name: 'n' });
    expect(
      participantsOf({
        from: a('Zoe@Example.org'),
        to: [a('bob@example.org'), a('ALICE@example.org')],
        cc: [a('zoe@example.org'), a('carl@example.org')],
        replyTo: [a('bob@example.org')],
      }),
    ).toEqual(['alice@example.org', 'bob@example.org', 'carl@example.org', 'zoe@example.org']);
  });

  it('copes with no sender and empty lists', () => {
    expect(participantsOf({ from: null, to: [], cc: [], replyTo: [] })).toEqual([]);
  });
});
