/** The editor's model of a flow: steps with ids, new steps' defaults, branch targets and the server's step errors. */
import type { Branch, StepConfig, StepKind } from '#contracts/sequences';

export interface FlowStep {
  id: string;
  config: StepConfig;
}

export function newStep(kind: StepKind, texts: { taskTitle: string }): FlowStep {
  const id = crypto.randomUUID();
  switch (kind) {
    case 'email':
      return { id, config: { kind, subject: '', body: '', newThread: false } };
    case 'wait':
      return { id, config: { kind, days: 2, hours: 0, businessDays: true } };
    case 'condition':
      return { id, config: { kind, test: 'opened', withinDays: 3, then: 'next', else: 'next' } };
    case 'task':
      return {
        id,
        config: { kind, taskKind: 'call', title: texts.taskTitle, description: null, dueInDays: 0, assigneeId: null },
      };
  }
}

/** Moves the step at `from` to `to` (a new array). */
export function move<T>(steps: T[], from: number, to: number): T[] {
  if (to < 0 || to >= steps.length) return steps;
  const next = [...steps];
  const [item] = next.splice(from, 1);
  next.splice(to, 0, item!);
  return next;
}

/** Branches pointing at a removed step fall back to the next step, so that the flow stays valid. */
export function withoutStep(steps: FlowStep[], id: string): FlowStep[] {
  const fix = (b: Branch): Branch => (b === id ? 'next' : b);
  return steps
    .filter((s) => s.id !== id)
    .map((s) => {
      const c = s.config;
      if (c.kind !== 'condition') return s;
      if (c.test === 'split')
        return { ...s, config: { ...c, paths: c.paths.map((p) => ({ ...p, goto: fix(p.goto) })) } };
      return { ...s, config: { ...c, then: fix(c.then), else: fix(c.else) } };
    });
}

export const splitSum = (config: StepConfig): number =>
  config.kind === 'condition' && config.test === 'split' ? config.paths.reduce((n, p) => n + p.weight, 0) : 100;

/** Is a subject threaded on an earlier email (no subject of its own needed)? */
export function threaded(steps: FlowStep[], index: number): boolean {
  const c = steps[index]?.config;
  if (c?.kind !== 'email' || c.newThread) return false;
  return steps.slice(0, index).some((s) => s.config.kind === 'email');
}

const FIELD = /^steps?[.[\s]?(\d+)\]?\.?(?:config\.)?([a-zA-Z]+)?/;

/**
 * The server's field errors spread over the steps: keys like `steps.1.subject` (an index into the flow) or
 * `<stepId>.body`; what names no step stays general.
 */
export function stepErrors(
  steps: FlowStep[],
  fields: Record<string, string> | undefined,
): { byStep: Record<string, Record<string, string>>; general: string[] } {
  const byStep: Record<string, Record<string, string>> = {};
  const general: string[] = [];
  for (const [key, message] of Object.entries(fields ?? {})) {
    const byId = steps.find((s) => key.startsWith(s.id));
    const m = FIELD.exec(key);
    const step = byId ?? (m ? steps[Number(m[1])] : undefined);
    if (!step) {
      general.push(message);
      continue;
    }
    const field = byId ? key.slice(byId.id.length).replace(/^\.(config\.)?/, '') || 'step' : (m?.[2] ?? 'step');
    (byStep[step.id] ??= {})[field] = message;
  }
  return { byStep, general };
}
