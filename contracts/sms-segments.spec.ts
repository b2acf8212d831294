import { describe, expect, it } from 'vitest';
import { isGsm7, smsCount } from './sms-segments.ts';

describe('SMS segment counter', () => {
  it('counts GSM-7 at 160 for one message and 153 a segment beyond', () => {
    expect(smsCount('')).toMatchObject({ encoding: 'GSM-7', units: 0, segments: 0 });
    expect(smsCount('a'.repeat(160))).toMatchObject({ encoding: 'GSM-7', units: 160, segments: 1, remaining: 0 });
    expect(smsCount('a'.repeat(161))).toMatchObject({ segments: 2, perSegment: 153, remaining: 153 * 2 - 161 });
    expect(smsCount('a'.repeat(306)).segments).toBe(2);
    expect(smsCount('a'.repeat(307)).segments).toBe(3);
  });

  it('counts extension characters as two septets and never splits one across segments', () => {
    expect(smsCount('€')).toMatchObject({ encoding: 'GSM-7', units: 2, segments: 1 });
    expect(smsCount('{}[]~|^\\').units).toBe(16);
    expect(smsCount('a'.repeat(159) + '€')).toMatchObject({ units: 161, segments: 2 });
    // 152 septets then an escape pair: 154 would straddle the first segment, so it opens the second.
    const straddle = 'a'.repeat(152) + '€' + 'a'.repeat(152);
    expect(smsCount(straddle)).toMatchObject({ units: 306, segments: 3 });
    expect(smsCount('a'.repeat(151) + '€' + 'a'.repeat(153))).toMatchObject({ units: 306, segments: 2 });
  });

  it('switches to UCS-2 at 70 / 67 for one character outside the tables and names it', () => {
    expect(isGsm7('è')).toBe(true);
    expect(isGsm7('È')).toBe(false);
    const text = 'Ciao È' + 'a'.repeat(64);
    expect(smsCount(text)).toMatchObject({ encoding: 'UCS-2', units: 70, segments: 1, unicode: ['È'] });
    expect(smsCount(text + 'a')).toMatchObject({ segments: 2, perSegment: 67, remaining: 67 * 2 - 71 });
    expect(smsCount('a'.repeat(134) + 'ç').segments).toBe(3);
  });

  it('counts an emoji as two UTF-16 units, kept whole at a segment boundary', () => {
    expect(smsCount('😀')).toMatchObject({ encoding: 'UCS-2', units: 2, segments: 1, unicode: ['😀'] });
    expect(smsCount('a'.repeat(66) + '😀' + 'a'.repeat(66))).toMatchObject({ units: 134, segments: 3 });
    expect(smsCount('a'.repeat(65) + '😀' + 'a'.repeat(67))).toMatchObject({ units: 134, segments: 2 });
  });
});
