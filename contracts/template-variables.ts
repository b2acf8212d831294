/**
 * Message templates' variables: `{{first_name}}` (a contact field or a declared name) or, for WhatsApp templates
 * mirroring Meta's approved ones, positional `{{1}}`…`{{n}}`. Checked on save (pure: the web form and the API
 * answer the same problems) and filled in at send time.
 */

/** Contact fields a named variable may take without declaring it. */
export const CONTACT_VARIABLES = ['first_name', 'last_name', 'name', 'email', 'phone', 'company'] as const;

export type TemplateProblemCode =
  | 'unclosed_variable'
  | 'bad_variable'
  | 'mixed_variables'
  | 'positional_gap'
  | 'positional_required'
  | 'unknown_variable'
  | 'unused_variable'
  | 'empty_body';

export interface TemplateProblem {
  code: TemplateProblemCode;
  /** The variable concerned, when one is. */
  variable?: string;
}

const TOKEN = /\{\{\s*([^{}]*?)\s*\}\}/g;
const NAME = /^(?:[a-z][a-z0-9_]{0,39}|[1-9][0-9]?)$/;

/** The variables a body uses, distinct, in order of first appearance (a malformed one is kept as written). */
export function templateVariables(body: string): string[] {
  const out: string[] = [];
  for (const m of body.matchAll(TOKEN)) if (!out.includes(m[1]!)) out.push(m[1]!);
  return out;
}

export interface TemplateCheckInput {
  body: string;
  /** WhatsApp templates take positional variables only, numbered from 1 without gaps. */
  positional: boolean;
  /** Variables declared beyond the contact fields (named) or the positional ones' count and meaning. */
  declared?: string[];
}

/** Every problem of a template body (empty: it can be saved). */
export function checkTemplate(input: TemplateCheckInput): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const { body } = input;
  if (!body.trim()) return [{ code: 'empty_body' }];
  // Braces left once every well-formed token is removed: an unclosed or nested variable.
  if (/\{\{|\}\}/.test(body.replace(TOKEN, ''))) problems.push({ code: 'unclosed_variable' });
  const used = templateVariables(body);
  for (const v of used) if (!NAME.test(v)) problems.push({ code: 'bad_variable', variable: v });
  const valid = used.filter((v) => NAME.test(v));
  const numbers = valid.filter((v) => /^\d+$/.test(v));
  const names = valid.filter((v) => !/^\d+$/.test(v));
  if (numbers.length && names.length) problems.push({ code: 'mixed_variables' });
  if (input.positional) {
    for (const n of names) problems.push({ code: 'positional_required', variable: n });
    const sorted = numbers.map(Number).sort((a, b) => a - b);
    sorted.forEach((n, i) => {
      if (n !== i + 1) problems.push({ code: 'positional_gap', variable: String(i + 1) });
    });
    const declared = input.declared ?? [];
    for (let i = sorted.length; i < declared.length; i++)
      problems.push({ code: 'unused_variable', variable: String(i + 1) });
  } else {
    const declared = input.declared ?? [];
    const known = new Set<string>([...CONTACT_VARIABLES, ...declared]);
    for (const n of names) if (!known.has(n)) problems.push({ code: 'unknown_variable', variable: n });
    for (const n of numbers) problems.push({ code: 'unknown_variable', variable: n });
    for (const d of declared) if (!names.includes(d)) problems.push({ code: 'unused_variable', variable: d });
  }
  // One report per (code, variable): a gap found twice is one problem.
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.code}:${p.variable ?? ''}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

/** Fills the variables in; a missing value leaves an empty string (never the raw `{{…}}`). */
export function renderTemplate(body: string, values: Record<string, string | null | undefined>): string {
  return body.replace(TOKEN, (_m, name: string) => values[name] ?? '');
}
