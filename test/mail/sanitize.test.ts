import { describe, expect, it } from 'vitest';
import { sanitizeEmailHtml } from '../../mail/sanitize.ts';
import { unsafeParts } from './support.ts';

const cidUrl = (cid: string) => (cid.endsWith('@known') ? `/api/mail/parts/${encodeURIComponent(cid)}` : null);
const clean = (html: string) => sanitizeEmailHtml(html, { cidUrl });

/** Classic and email-specific XSS vectors (OWASP cheat sheet, html5sec, sanitize-html advisories). */
const VECTORS = [
  '<img src=x onerror=alert(1)>',
  '<img src="x" onerror="alert(1)">fallback',
  '<IMG SRC="javascript:alert(\'XSS\');">',
  '<IMG SRC=JaVaScRiPt:alert(1)>',
  '<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#49;&#41;>',
  '<IMG SRC=&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)>',
  '<IMG SRC="jav&#x0A;ascript:alert(1);">',
  '<IMG SRC=" &#14;  javascript:alert(1);">',
  '<svg/onload=alert(1)>',
  '<svg><script>alert(1)</script></svg>',
  '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
  '<body onload=alert(1)>body</body>',
  '<a href="javascript&colon;alert(1)">colon entity</a>',
  '<a href="  javascript:alert(1)">leading spaces</a>',
  '<a href="java\tscript:alert(1)">tab</a>',
  '<a href="&#x6A;avascript&#x3A;alert(1)">hex entities</a>',
  '<a href="vbscript:msgbox(1)">vb</a>',
  '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a>',
  '<a href="http://ok.example/" onmouseover="alert(1)">hover</a>',
  '<a href="https://ok.example/" ping="https://evil.example/ping">ping</a>',
  '<div style="background-image: url(javascript:alert(1))">bg</div>',
  '<div style="width: expression(alert(1))">ie</div>',
  '<div style="behavior: url(xss.htc)">htc</div>',
  '<div style="-moz-binding: url(https://evil.example/x.xml#xss)">binding</div>',
  '<div style="background:url(&quot;https://evil.example/x&quot;)">quoted</div>',
  '<div style="background-image: u\\72l(https://evil.example/x)">escaped</div>',
  '<div style="color: red; position: fixed; top: 0; left: 0; z-index: 99999">overlay</div>',
  '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
  '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
  '<form action="javascript:alert(1)"><input type=submit value=go><button formaction="javascript:alert(1)">b</button></form>',
  '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
  '<iframe src="javascript:alert(1)"></iframe>',
  '<object data="javascript:alert(1)"></object>',
  '<embed src="javascript:alert(1)">',
  '<base href="javascript:/">',
  '<link rel="stylesheet" href="https://evil.example/x.css">',
  '<style>@import "https://evil.example/x.css"; body { background: url(https://evil.example/t.gif) }</style>',
  '<<SCRIPT>alert("XSS");//<</SCRIPT>',
  '<scr<script>ipt>alert(1)</scr</script>ipt>',
  '<img """><script>alert(1)</script>">',
  '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
  '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
  '<details open ontoggle=alert(1)>d</details>',
  '<video><source onerror=alert(1)></video>',
  '<input autofocus onfocus=alert(1)>',
  '<table background="javascript:alert(1)"><tr><td>t</td></tr></table>',
  '<img srcset="https://evil.example/x.png 1x">',
  '<p id="app" class="fixed inset-0">clobber</p>',
  '<a href="/api/session" >relative link</a><img src="/api/account/delete">',
  '<xss style="xss:expression(alert(1))">unknown tag</xss>',
  '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
  '<textarea><img src=x onerror=alert(1)></textarea>',
  '<title><img src=x onerror=alert(1)></title>',
  '<!--<img src=x onerror=alert(1)>-->',
  '<![CDATA[<img src=x onerror=alert(1)>]]>',
  '<div><p><b><i>unclosed <a href="https://ok.example/">tags',
];

describe('sanitizeEmailHtml: XSS corpus', () => {
  it('is judged by a check that does catch unsafe output', () => {
    for (const raw of [
      '<img src=x onerror=alert(1)>',
      '<img src="x" onerror="alert(1)" />',
      '<a href="javascript:alert(1)">x</a>',
      '<a href="java&#x09;script:alert(1)">x</a>',
      '<img src="https://tracker.example/p.gif" />',
      '<div style="background:url(x)">x</div>',
      '<p class="x">x</p>',
      '<svg></svg>',
      'text < script',
    ]) {
      expect(unsafeParts(raw), raw).not.toEqual([]);
    }
    expect(unsafeParts('<p style="color:red">a &lt;script&gt;</p><img src="/api/x" />')).toEqual([]);
  });

  it.each(VECTORS)('%s', (vector) => {
    const { html } = clean(vector);
    expect(unsafeParts(html)).toEqual([]);
    expect(html).not.toMatch(/alert\(1\)"|javascript:|vbscript:|onerror|onload/i);
  });

  it('checks the whole corpus at once, nested inside tables', () => {
    const { html } = clean(`<table><tr><td>${VECTORS.join('<br>')}</td></tr></table>`);
    expect(unsafeParts(html)).toEqual([]);
  });
});

describe('sanitizeEmailHtml: what a newsletter keeps', () => {
  it('keeps tables, text formatting and safe inline styles', () => {
    const { html } = clean(
      '<table width="600" cellpadding="0" bgcolor="#ffffff" style="border-collapse:collapse"><tr>' +
        '<td align="center" style="font-family:\'Segoe UI\', Arial, sans-serif; color:#333; padding:8px 16px; ' +
        'background-color: rgb(240, 240, 240) !important">' +
        '<h1>Title</h1><p>Some <strong>bold</strong> and <em>em</em></p><ul><li>one</li></ul></td></tr></table>',
    );
    expect(html).toContain('<table width="600" cellpadding="0" bgcolor="#ffffff" style="border-collapse:collapse">');
    expect(html).toContain("font-family:'Segoe UI', Arial, sans-serif");
    expect(html).toContain('background-color:rgb(240, 240, 240) !important');
    expect(html).toContain('<strong>bold</strong>');
    expect(html).toContain('<li>one</li>');
  });

  it('drops style declarations with url(), expression() or unknown properties, keeping the rest', () => {
    const { html } = clean(
      '<p style="color: blue; background: url(x.png); width: expression(1); cursor: url(x)">p</p>',
    );
    expect(html).toBe('<p style="color:blue">p</p>');
  });

  it('makes links open in a new tab without referrer or opener, whatever the sender said', () => {
    const { html } = clean('<a href="https://acme.example/offer?a=1&b=2" target="_self" rel="opener">offer</a>');
    expect(html).toBe(
      '<a href="https://acme.example/offer?a=1&amp;b=2" target="_blank" rel="noopener noreferrer nofollow">offer</a>',
    );
  });

  it('keeps mailto: and tel: links and drops relative ones', () => {
    const { html } = clean('<a href="mailto:bob@example.org">m</a><a href="tel:+39061234">t</a><a href="/x">r</a>');
    expect(html).toContain('href="mailto:bob@example.org"');
    expect(html).toContain('href="tel:+39061234"');
    expect(html).toContain('<a target="_blank" rel="noopener noreferrer nofollow">r</a>');
  });

  it('drops <style>, <title> and <head> content instead of showing it as text', () => {
    const { html } = clean(
      '<html><head><title>Secret title</title><style>.x{color:red}</style></head><body><p>Hi</p></body></html>',
    );
    expect(html).toBe('<p>Hi</p>');
  });
});

describe('sanitizeEmailHtml: images', () => {
  it('moves remote images to data-remote-src and says so', () => {
    const result = clean('<p>Hi</p><img src="https://tracker.example/open.gif?u=42" width="1" alt="">');
    expect(result.hasRemoteImages).toBe(true);
    expect(result.html).toContain('data-remote-src="https://tracker.example/open.gif?u=42"');
    expect(result.html).not.toMatch(/\ssrc=/);
  });

  it('treats protocol-relative and plain http images as remote too', () => {
    const result = clean('<img src="//cdn.example/a.png"><img src="http://cdn.example/b.png">');
    expect(result.html).toContain('data-remote-src="https://cdn.example/a.png"');
    expect(result.html).toContain('data-remote-src="http://cdn.example/b.png"');
    expect(result.html).not.toMatch(/\ssrc=/);
  });

  it('keeps remote backgrounds (attribute or style) only as data-remote-background', () => {
    const attr = clean('<table background="https://cdn.example/bg.png"><tr><td>x</td></tr></table>');
    expect(attr.html).toBe('<table data-remote-background="https://cdn.example/bg.png"><tr><td>x</td></tr></table>');
    expect(attr.hasRemoteImages).toBe(true);
    const style = clean('<td style="background-image:url(\'https://cdn.example/bg.png\'); color: red">x</td>');
    expect(style.html).toContain('data-remote-background="https://cdn.example/bg.png"');
    expect(style.html).not.toContain('url(');
    expect(style.hasRemoteImages).toBe(true);
  });

  it('does not let the sender set data-remote-* itself', () => {
    const result = clean('<img src="cid:logo@known" data-remote-src="javascript:alert(1)" data-x="1">');
    expect(result.html).toBe('<img src="/api/mail/parts/logo%40known" />');
    expect(result.hasRemoteImages).toBe(false);
  });

  it('points cid: images at cidUrl and drops those it does not know', () => {
    const result = clean('<img src="cid:logo@known" alt="logo"><img src="cid:ghost@elsewhere" alt="ghost">');
    expect(result.html).toBe('<img alt="logo" src="/api/mail/parts/logo%40known" />');
    expect(result.hasRemoteImages).toBe(false);
  });

  it('keeps inline data: images of raster types only', () => {
    const png =
      'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
    expect(clean(`<img src="${png}">`).html).toBe(`<img src="${png}" />`);
    expect(clean('<img src="data:image/svg+xml;base64,PHN2Zz4=">').html).toBe('');
    expect(clean('<img src="data:text/html,<script>alert(1)</script>">').html).toBe('');
  });

  it('reports no remote images for a message without any', () => {
    expect(clean('<p>plain</p>').hasRemoteImages).toBe(false);
  });
});
