import { describe, expect, it } from 'vitest';
import { blockDocument } from '#contracts/newsletters';
import { compileDocument, trackLinks } from './compile.ts';
import { mergeMail, prepareVariant } from './campaign-mail.ts';
import { checkTokens, splitHtml } from './merge.ts';
import { STARTER_TEMPLATES } from './templates.ts';

const footer = { id: 'f', type: 'footer', address: 'Via Roma 1, 20100 Milano', text: 'Why you get this' };

const everyBlock = blockDocument.parse({
  blocks: [
    { id: 'h', type: 'heading', text: 'Hello {{contact.first_name | "friend & co"}}', level: 2 },
    { id: 't', type: 'text', markdown: 'Some **bold** and a [link](https://example.com/a?b=1&c=2)\n\n- one\n- two' },
    {
      id: 'i',
      type: 'image',
      src: 'https://cdn.example.com/hero.png',
      alt: 'The hero',
      href: 'https://example.com/hero',
    },
    { id: 'b', type: 'button', label: 'Read it', href: 'https://example.com/go', color: '#ff0000' },
    {
      id: 'c',
      type: 'columns',
      columns: [
        [{ id: 'c1', type: 'text', markdown: 'Left column' }],
        [{ id: 'c2', type: 'text', markdown: 'Middle column' }],
        [{ id: 'c3', type: 'button', label: 'Right', href: 'https://example.com/right' }],
      ],
    },
    { id: 'd', type: 'divider' },
    { id: 's', type: 'spacer', height: 40 },
    { id: 'so', type: 'social', links: [{ network: 'github', url: 'https://github.com/filo' }] },
    {
      id: 'r',
      type: 'html',
      html: '<p onclick="steal()">raw <b>html</b><script>alert(1)</script></p><form action="https://evil.example"><input name="pw"></form><a href="javascript:alert(1)">js</a>',
    },
    footer,
  ],
});

describe('compile', () => {
  it('renders every block type to responsive HTML, with the preheader hidden and the footer’s links', async () => {
    const out = await compileDocument({ content: everyBlock, preheader: 'A peek at {{contact.first_name}}' });
    expect(out.warnings).toEqual([]);
    const html = out.html;
    expect(html).toContain('<h2');
    expect(html).toContain('Hello {{contact.first_name | "friend &amp; co"}}');
    expect(html).toContain('<strong>bold</strong>');
    expect(html).toContain('href="https://example.com/a?b=1&amp;c=2"');
    expect(html).toContain('src="https://cdn.example.com/hero.png"');
    expect(html).toContain('alt="The hero"');
    expect(html).toMatch(/background:#ff0000/i);
    expect(html).toContain('Read it');
    expect(html).toMatch(/border-top:solid 1px #e5e7eb/);
    expect(html).toMatch(/height:40px/);
    expect(html).toContain('https://github.com/filo');
    expect(html).toContain('Via Roma 1, 20100 Milano');
    expect(html).toContain('href="{{unsubscribe_url}}"');
    expect(html).toContain('href="{{preferences_url}}"');
    // the preheader: hidden text at the top of the body
    expect(html).toMatch(/display:none[^>]*>\s*A peek at \{\{contact\.first_name\}\}/);
  });

  it('stacks columns on a narrow screen: side by side only from 480px up', async () => {
    const { html } = await compileDocument({ content: everyBlock, preheader: null });
    const wide = /@media only screen and \(min-width:480px\) \{([^@]*?)\n\s*\}/.exec(html)?.[1] ?? '';
    expect(wide).toContain('.mj-column-per-33-333333333333336 { width:33.333333333333336% !important');
    expect(wide).toContain('.mj-column-per-100 { width:100% !important');
    // below that width each column is a full-width block
    expect(html).toMatch(
      /class="mj-column-per-33-333333333333336 mj-outlook-group-fix"[^>]*style="[^"]*display:inline-block[^"]*width:100%/,
    );
  });

  it('sanitizes raw HTML: no scripts, handlers, forms or script links', async () => {
    const { html } = await compileDocument({ content: everyBlock, preheader: null });
    expect(html).toContain('raw <b>html</b>');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain('alert(1)');
    expect(html).not.toContain('onclick');
    expect(html).not.toMatch(/<form|<input/i);
    expect(html).not.toContain('javascript:');
  });

  it('makes a plain-text part from the blocks, with the unsubscribe link', async () => {
    const { text } = await compileDocument({ content: everyBlock, preheader: null });
    expect(text).toContain('Hello {{contact.first_name | "friend & co"}}');
    expect(text).toContain('Some bold and a link (https://example.com/a?b=1&c=2)');
    expect(text).toContain('Read it: https://example.com/go');
    expect(text).toContain('Left column');
    expect(text).toContain('GitHub: https://github.com/filo');
    expect(text).toContain('Via Roma 1, 20100 Milano');
    expect(text).toContain('Unsubscribe: {{unsubscribe_url}}');
    expect(text).not.toMatch(/<[a-z]/i);
  });

  it('warns about a missing footer and images without alternative text', async () => {
    const doc = blockDocument.parse({ blocks: [{ id: 'i', type: 'image', src: 'https://cdn.example.com/x.png' }] });
    const { warnings } = await compileDocument({ content: doc, preheader: null });
    expect(warnings.join('\n')).toMatch(/footer block with your postal address/);
    expect(warnings.join('\n')).toMatch(/no alternative text/);
  });

  it('compiles every starter template with no warning', async () => {
    expect(STARTER_TEMPLATES.map((t) => t.id)).toEqual(['announcement', 'digest', 'event', 'letter']);
    for (const t of STARTER_TEMPLATES) {
      const out = await compileDocument({ content: t.content, preheader: null });
      expect(`${t.id}: ${out.warnings.join(', ')}`).toBe(`${t.id}: `);
      expect(() => checkTokens([['x', out.text]])).not.toThrow();
    }
  });
});

describe('merge', () => {
  it('escapes values in the HTML, uses fallbacks, and tracks links but not the unsubscribe link', async () => {
    const compiled = await compileDocument({ content: everyBlock, preheader: null });
    const urls: string[] = [];
    const html = trackLinks(compiled.html, (url) => (urls.includes(url) ? urls.indexOf(url) : urls.push(url) - 1));
    expect(urls).toContain('https://example.com/a?b=1&c=2');
    expect(urls).not.toContain('{{unsubscribe_url}}');
    const prepared = prepareVariant({ key: '', subject: 'Hi {{contact.first_name}}', html, text: compiled.text });
    const mail = mergeMail(
      prepared,
      {
        'contact.first_name': '<img src=x onerror=alert(1)> "Bob"',
        unsubscribe_url: 'https://filo.test/u/tok?a=1&b=2',
      },
      { link: (i) => `https://filo.test/t/b/L${i}`, pixel: 'https://filo.test/t/b/OPEN.gif' },
    );
    expect(mail.html).toContain('Hello &lt;img src=x onerror=alert(1)&gt; &quot;Bob&quot;');
    expect(mail.html).not.toContain('<img src=x');
    expect(mail.html).toContain('href="https://filo.test/u/tok?a=1&amp;b=2"');
    expect(mail.html).toContain(`href="https://filo.test/t/b/L${urls.indexOf('https://example.com/go')}"`);
    expect(mail.html).not.toContain('https://example.com/go');
    expect(mail.html).toMatch(/<img src="https:\/\/filo\.test\/t\/b\/OPEN\.gif"[^>]*\/><\/body>/);
    expect(mail.subject).toBe('Hi <img src=x onerror=alert(1)> "Bob"');
    expect(mail.text).toContain('Hello <img src=x onerror=alert(1)> "Bob"');
    const empty = mergeMail(prepared, {}, {});
    expect(empty.html).toContain('Hello friend &amp; co');
    expect(empty.text).toContain('Hello friend & co');
  });

  it('refuses unknown or malformed tokens with their line and column', () => {
    let err: unknown;
    try {
      checkTokens([['content.blocks.1.markdown', 'Hello\n  {{contact.nickname}}']]);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({
      status: 400,
      code: 'unknown_token',
      extra: { position: { field: 'content.blocks.1.markdown', line: 2, column: 3, token: '{{contact.nickname}}' } },
    });
    expect(() => checkTokens([['subject', 'Hi {{contact.first_name']])).toThrow(/never closed/);
    expect(() => checkTokens([['subject', '{{unsubscribe_url}} {{preferences_url}}']])).not.toThrow();
  });

  it('leaves text that only looks like a token as it is', () => {
    expect(splitHtml('a {{nope}} b {{link.3}} c')).toEqual(['a ', '{{nope}}', ' b ', { link: 3 }, ' c']);
  });
});
