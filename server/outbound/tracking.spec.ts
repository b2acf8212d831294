import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { trackHtml, TrackingTokens } from './tracking.ts';

const KEY = 'a-test-secret-key-that-is-long-enough-0123456789';

describe('tracking tokens', () => {
  const tokens = new TrackingTokens(KEY);
  const messageId = randomUUID();

  it('carry the message, the kind and the link index, and only verify under the same key', () => {
    const click = tokens.sign({ messageId, kind: 'click', index: 7 });
    expect(click).toMatch(/^[A-Za-z0-9_-]{47}$/);
    expect(tokens.verify(click)).toEqual({ messageId, kind: 'click', index: 7 });
    expect(tokens.verify(tokens.sign({ messageId, kind: 'open', index: 0 }))).toEqual({
      messageId,
      kind: 'open',
      index: 0,
    });
    expect(new TrackingTokens(`${KEY}x`).verify(click)).toBeNull();
    expect(new TrackingTokens(KEY).verify(click)).not.toBeNull();
  });

  it('refuse any altered character, another length or junk', () => {
    const token = tokens.sign({ messageId, kind: 'click', index: 1 });
    for (let i = 0; i < token.length; i++) {
      // Every other character at each position, including the last one's spare bits.
      for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_') {
        if (c === token[i]) continue;
        expect(tokens.verify(`${token.slice(0, i)}${c}${token.slice(i + 1)}`), `${c} at ${i}`).toBeNull();
      }
    }
    expect(tokens.verify(token.slice(1))).toBeNull();
    expect(tokens.verify(`${token}A`)).toBeNull();
    expect(tokens.verify('')).toBeNull();
    expect(tokens.verify('../../etc/passwd')).toBeNull();
  });
});

describe('trackHtml', () => {
  const tokens = new TrackingTokens(KEY);
  const messageId = randomUUID();
  const html =
    '<p><a href="https://a.test/x?p=1&amp;q=2">x</a> <a href="mailto:s@a.test">m</a> <a href="#top">t</a> <a href="http://b.test/">b</a> <a href="https://a.test/x?p=1&amp;q=2">again</a></p>';

  it('rewrites http(s) links to signed click tokens, one per address, and adds one pixel', () => {
    const out = trackHtml(html, { messageId, opens: true, clicks: true, publicUrl: 'https://filo.test/', tokens });
    expect(out.links).toEqual(['https://a.test/x?p=1&q=2', 'http://b.test/']);
    const hrefs = [...out.html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!);
    expect(hrefs[1]).toBe('mailto:s@a.test');
    expect(hrefs[2]).toBe('#top');
    const claims = [hrefs[0], hrefs[3], hrefs[4]].map((h) =>
      tokens.verify(/^https:\/\/filo\.test\/t\/c\/([\w-]+)$/.exec(h!)![1]!),
    );
    expect(claims.map((c) => c?.index)).toEqual([0, 1, 0]);
    const pixel = /<img src="https:\/\/filo\.test\/t\/o\/([\w-]+)\.gif"/.exec(out.html)?.[1];
    expect(tokens.verify(pixel!)).toEqual({ messageId, kind: 'open', index: 0 });
  });

  it('does only what the mailbox asks for', () => {
    const opensOnly = trackHtml(html, { messageId, opens: true, clicks: false, publicUrl: 'https://f.test', tokens });
    expect(opensOnly.html.startsWith(html)).toBe(true);
    expect(opensOnly.links).toEqual([]);
    const clicksOnly = trackHtml(html, { messageId, opens: false, clicks: true, publicUrl: 'https://f.test', tokens });
    expect(clicksOnly.html).not.toContain('<img');
    expect(clicksOnly.html).not.toContain('a.test/x');
  });
});
