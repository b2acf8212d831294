/**
 * A sequence's email steps as a sample prospect would receive them (tokens merged with their fallbacks, "Re:" on a
 * follow-up of the thread, the text and the engine's plain HTML of it), built into a whole message for a spam checker;
 * and the tokens without a fallback that enrolled prospects have no value for.
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import type { SequenceStep } from '#contracts/sequences';
import type { EntityManager } from '@mikro-orm/postgresql';
import { mergePieces, splitText, type MergeValues, type Piece } from '../../newsletters/merge.ts';
import { plainHtml } from '../engine/handler.ts';
import { TokenError } from '../../outbound/tokens.ts';

type EmailConfig = Extract<SequenceStep['config'], { kind: 'email' }>;

/** Who the sample copy is for: the first enrolled prospect, else this placeholder. */
export const PLACEHOLDER: MergeValues = {
  'contact.first_name': 'Maria',
  'contact.last_name': 'Rossi',
  'contact.email': 'maria.rossi@example.com',
  'company.name': 'Example Srl',
};

export interface RenderedStep {
  subject: string;
  text: string;
  html: string;
}

const pieces = (text: string): { pieces: Piece[]; error: string | null } => {
  try {
    return { pieces: splitText(text), error: null };
  } catch (err) {
    if (err instanceof TokenError) return { pieces: [text], error: err.message };
    throw err;
  }
};

/** Each email step for these values, in order; a follow-up continues the previous subject unless `newThread`. */
export function renderSteps(
  steps: { id: string; config: EmailConfig }[],
  values: MergeValues,
): Map<string, RenderedStep & { errors: string[] }> {
  const out = new Map<string, RenderedStep & { errors: string[] }>();
  let threadSubject: string | null = null;
  for (const { id, config } of steps) {
    const subject = pieces(config.subject);
    const body = pieces(config.body);
    const own = mergePieces(subject.pieces, values, { html: false }).trim();
    // as the engine's handler: a follow-up answers the thread's first subject
    const shown: string = threadSubject && !config.newThread ? `Re: ${threadSubject}` : own;
    if (!threadSubject || config.newThread) threadSubject = own.replace(/^(\s*(re|r|aw|sv|fwd?)\s*:\s*)+/i, '').trim();
    const text = mergePieces(body.pieces, values, { html: false });
    const errors = [subject.error, body.error].filter((e): e is string => e !== null);
    out.set(id, { subject: shown, text, html: plainHtml(text), errors });
  }
  return out;
}

/** The step as a whole RFC 822 message from the mailbox to the prospect, as a spam checker reads it. */
export async function messageOf(step: RenderedStep, from: string, to: string, domain: string): Promise<string> {
  const mail = new MailComposer({
    from,
    to,
    subject: step.subject,
    text: step.text,
    html: step.html,
    date: new Date(),
    messageId: `<preflight.${Date.now().toString(36)}@${domain}>`,
  }).compile();
  return (await mail.build()).toString('utf8');
}

/** Per token, the SQL test "this enrolled prospect has no value" (tokens not listed always have one). */
const LACKING: Record<string, string> = {
  'contact.first_name': `coalesce(trim(c.first_name), '') = ''`,
  'contact.last_name': `coalesce(trim(c.last_name), '') = ''`,
  'contact.email': `coalesce(trim(e.address), '') = ''`,
  'company.name': `coalesce(trim(co.name), '') = ''`,
  'user.name': `coalesce(trim(u.name), '') = ''`,
};

/** Tokens of these steps used without a fallback, with how many active or paused prospects lack their value. */
export async function tokenGaps(
  em: EntityManager,
  sequenceId: string,
  steps: { id: string; config: EmailConfig }[],
): Promise<Map<string, string[]>> {
  const bare = new Map<string, Set<string>>();
  for (const { id, config } of steps) {
    const names = new Set<string>();
    for (const text of [config.subject, config.body])
      for (const p of pieces(text).pieces)
        if (typeof p !== 'string' && 'token' in p && p.fallback === null && LACKING[p.token]) names.add(p.token);
    bare.set(id, names);
  }
  const all = [...new Set([...bare.values()].flatMap((s) => [...s]))];
  const problems = new Map(steps.map((s) => [s.id, [] as string[]]));
  if (!all.length) return problems;
  const columns = all.map((t, i) => `count(*) filter (where ${LACKING[t]})::int as t${i}`).join(', ');
  const [row] = (await em.execute(
    `select ${columns} from sequence_enrolments e
       join sequences s on s.id = e.sequence_id
       join contacts c on c.id = e.contact_id
       left join companies co on co.id = c.company_id
       left join users u on u.id = s.owner_id
     where e.sequence_id = ? and e.status in ('active', 'paused')`,
    [sequenceId],
  )) as Record<string, number>[];
  const lacking = new Map(all.map((t, i) => [t, row?.[`t${i}`] ?? 0]));
  for (const [stepId, names] of bare)
    for (const name of names) {
      const n = lacking.get(name) ?? 0;
      if (n > 0)
        problems
          .get(stepId)!
          .push(
            `{{${name}}} has no fallback and ${n} enrolled prospect${n === 1 ? ' has' : 's have'} no value: add one, e.g. {{${name} | "there"}}`,
          );
    }
  return problems;
}
