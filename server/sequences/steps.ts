import { randomUUID } from 'node:crypto';
import type { Branch, StepConfig, StepsPut } from '#contracts/sequences';
import { HttpError } from '../http/errors.ts';
import { checkTokens } from '../newsletters/merge.ts';

/** A step of a flow as it will be saved: its id (kept, client-made or new) and config, in order. */
export interface PlannedStep {
  id: string;
  config: StepConfig;
}

const invalidBranch = (field: string, why: string) =>
  new HttpError(400, 'invalid_branch', `A branch of the flow is not valid: ${why}`, { [field]: why });

/** The branches a condition step can take, each with the field it is reported under. */
function branchesOf(config: StepConfig, at: string): [string, Branch][] {
  if (config.kind !== 'condition') return [];
  if (config.test === 'split')
    return config.paths.map((p, i): [string, Branch] => [`${at}.config.paths.${i}.goto`, p.goto]);
  return [
    [`${at}.config.then`, config.then],
    [`${at}.config.else`, config.else],
  ];
}

/**
 * Checks a whole flow before it is saved: tokens of every email step (400 `unknown_token` naming the step's field),
 * ids used once, a condition only after an email step (it tests that mail), and branches that go to `next`, `end`
 * or a LATER step of this flow (forward only: a flow never loops, so every prospect reaches its end).
 */
export function planSteps(input: StepsPut['steps']): PlannedStep[] {
  const steps = input.map((s) => ({ id: s.id ?? randomUUID(), config: s.config as StepConfig }));
  const position = new Map<string, number>();
  for (const [i, s] of steps.entries()) {
    if (position.has(s.id))
      throw new HttpError(400, 'validation_failed', 'A step id is used twice', { [`steps.${i}.id`]: 'used twice' });
    position.set(s.id, i);
  }
  let emailBefore = false;
  for (const [i, s] of steps.entries()) {
    const at = `steps.${i}`;
    if (s.config.kind === 'email') {
      checkTokens([
        [`${at}.config.subject`, s.config.subject],
        [`${at}.config.body`, s.config.body],
      ]);
      emailBefore = true;
    }
    if (s.config.kind === 'condition' && !emailBefore)
      throw new HttpError(400, 'condition_without_email', 'A condition needs an email step before it', {
        [`${at}.config`]: 'add an email step before this condition',
      });
    for (const [field, target] of branchesOf(s.config, at)) {
      if (target === 'next' || target === 'end') continue;
      const to = position.get(target);
      if (to === undefined) throw invalidBranch(field, 'it points at a step that is not in this flow');
      if (to <= i) throw invalidBranch(field, 'it must point at a later step');
    }
  }
  return steps;
}

/** What launching needs of the flow: an email step, and a subject on every email that starts a thread. */
export function flowProblems(steps: { id: string; config: StepConfig }[]): Record<string, string> {
  const fields: Record<string, string> = {};
  let threadStarted = false;
  for (const [i, s] of steps.entries()) {
    if (s.config.kind !== 'email') continue;
    if (!s.config.body.trim()) fields[`steps.${i}.config.body`] = 'write the message';
    if ((!threadStarted || s.config.newThread) && !s.config.subject.trim())
      fields[`steps.${i}.config.subject`] = 'write a subject';
    threadStarted = true;
  }
  return fields;
}
