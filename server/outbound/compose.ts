import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';
import { sanitizeEmailHtml } from '../../mail/sanitize.ts';
import { HttpError } from '../http/errors.ts';
import { TaskBudgetExceeded, TaskFailed, ThreadPool } from '../workers/thread-pool.ts';

export type BodyFormat = 'markdown' | 'html';

export interface ComposedBody {
  /** Sanitized, as Filo shows it (remote images wait in `data-remote-src`, like received mail). */
  html: string;
  /** The same, as it is sent: the writer's own remote images load for the customer. */
  sendHtml: string;
  /** The text/plain alternative. */
  text: string;
}

const marked = new Marked({ gfm: true, breaks: true, async: false });

export const markdownToHtml = (markdown: string): string => marked.parse(markdown, { async: false });

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", apos: "'", nbsp: ' ' };

/** A readable plain-text form of (sanitized) HTML: block ends become line breaks, links keep their address. */
export function htmlToText(html: string): string {
  const marked = html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<li[^>]*>/gi, '\n- ')
    .replace(/<\/(p|div|h[1-6]|ul|ol|blockquote|pre|table|tr)>/gi, '\n\n')
    .replace(/<a\s[^>]*href="([^"]+)"[^>]*>([\s\S]*?)<\/a>/gi, (_m, href: string, label: string) =>
      label.replace(/<[^>]+>/g, '').trim() === href ? href : `${label} (${href})`,
    );
  const text = sanitizeHtml(marked, { allowedTags: [], allowedAttributes: {} }).replace(
    /&(amp|lt|gt|quot|#39|apos|nbsp);/g,
    (_m, e: string) => ENTITIES[e] ?? '',
  );
  return text
    .split('\n')
    .map(trimSpacesEnd)
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Without the spaces and tabs a line ends with; a loop, as /[ \t]+\n/ is quadratic on a long run of spaces. */
function trimSpacesEnd(line: string): string {
  let end = line.length;
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
  return line.slice(0, end);
}

/**
 * The body of an outgoing message from what the agent wrote (Markdown rendered first), with the signature after
 * the conventional `-- ` separator: sanitized with the same allowlist as received mail, plus its text alternative.
 */
export function composeBody(body: string, format: BodyFormat, signature: string | null): ComposedBody {
  const main = format === 'markdown' ? markdownToHtml(body) : body;
  const sig = signature?.trim() ? `<div class="filo-signature"><p>-- </p>${markdownToHtml(signature)}</div>` : '';
  const { html } = sanitizeEmailHtml(`${main}${sig}`, { cidUrl: () => null });
  const sendHtml = html
    .replace(/\sdata-remote-src="/g, ' src="')
    .replace(/\sdata-remote-background="/g, ' background="');
  const mainText =
    format === 'markdown' ? body.trim() : htmlToText(sanitizeEmailHtml(main, { cidUrl: () => null }).html);
  const text = mainText + (signature?.trim() ? `\n\n-- \n${signature.trim()}` : '');
  return { html, sendHtml, text };
}

/** Elements deeper than this are refused: real mail nests a few dozen levels, the sanitizer slows down past that. */
export const MAX_HTML_DEPTH = 1_000;

const VOID_ELEMENTS = new Set('area base br col embed hr img input link meta param source track wbr'.split(' '));

/** How deep the elements of `html` nest, counted in one pass over the tags (void and self-closed ones aside). */
export function htmlDepth(html: string): number {
  let depth = 0;
  let max = 0;
  let at = html.indexOf('<');
  while (at >= 0) {
    const end = html.indexOf('>', at + 1);
    if (end < 0) break; // no tag can end after this one
    const closing = html[at + 1] === '/';
    const name = /^[a-zA-Z][a-zA-Z0-9-]*/.exec(html.slice(at + (closing ? 2 : 1), Math.min(end, at + 40)))?.[0];
    if (name && !VOID_ELEMENTS.has(name.toLowerCase()) && html[end - 1] !== '/') {
      depth = closing ? Math.max(0, depth - 1) : depth + 1;
      max = Math.max(max, depth);
    }
    at = html.indexOf('<', end + 1);
  }
  return max;
}

/** Milliseconds one composed body may take in its thread (a real one takes a few). */
const COMPOSE_BUDGET_MS = 5_000;

let composers: ThreadPool<Parameters<typeof composeBody>, ComposedBody> | null = null;

const tooComplex = () =>
  new HttpError(400, 'content_too_complex', 'The message is too complex to prepare (nested too deeply?)', {
    body: 'too complex: simplify the message',
  });

/**
 * composeBody in a pool thread under a time budget: Markdown rendering and sanitizing take super-linear time on
 * some inputs (deep nesting), which on the main thread would stall every user of the instance.
 */
export async function composeOffThread(...args: Parameters<typeof composeBody>): Promise<ComposedBody> {
  const [body, , signature] = args;
  for (const [field, text] of [
    ['body', body],
    ['signature', signature ?? ''],
  ] as const)
    if (htmlDepth(text) > MAX_HTML_DEPTH)
      throw new HttpError(400, 'html_too_deep', `The HTML nests more than ${MAX_HTML_DEPTH} levels deep`, {
        [field]: `at most ${MAX_HTML_DEPTH} nested elements`,
      });
  composers ??= new ThreadPool(new URL('../workers/compose.worker.ts', import.meta.url), {
    threads: 2,
    budgetMs: COMPOSE_BUDGET_MS,
  });
  try {
    return await composers.run(args);
  } catch (err) {
    // a stack overflow of the Markdown renderer is deep nesting too
    if (err instanceof TaskBudgetExceeded || (err instanceof TaskFailed && err.errorName === 'RangeError'))
      throw tooComplex();
    throw err;
  }
}
