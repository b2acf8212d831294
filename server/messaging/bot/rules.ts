/**
 * The chatbot's rule engine, pure: given an account's rules, the conversation's bot state and one inbound
 * message, it answers what to do (reply, ask for a field, store it, tag, assign, hand over). The bot service
 * carries the steps out in the inbound job's transaction and saves the state.
 */

export const BOT_FIELDS = ['name', 'email', 'company'] as const;
export type BotField = (typeof BOT_FIELDS)[number];

export type BotTrigger = { kind: 'keyword'; words: string[] } | { kind: 'first_message' } | { kind: 'outside_hours' };

export type BotAction =
  | { kind: 'reply'; text?: string; templateId?: string }
  | { kind: 'ask'; field: BotField; prompt: string }
  | { kind: 'tag'; tag: string }
  | { kind: 'assign'; userId: string }
  | { kind: 'handover' };

export interface BotRule {
  id: string;
  trigger: BotTrigger;
  actions: BotAction[];
}

/** Opening hours per weekday (0 Sunday … 6 Saturday) as 'HH:MM' in the account's time zone. */
export interface BusinessHours {
  timeZone: string;
  days: { day: number; start: string; end: string }[];
}

/** What the bot remembers of a conversation between messages. */
export interface BotState {
  /** A field asked for and the actions left after it is answered. */
  asking?: { field: BotField; ruleId: string; rest: BotAction[]; tries: number };
  /** The bot's replies in the current window and when the window opened (the loop guard). */
  replies: number;
  windowStart: string;
  lastReply?: string;
}

export interface BotMessage {
  text: string;
  at: Date;
  /** The contact's first message on this conversation. */
  first: boolean;
}

export interface BotContext {
  rules: BotRule[];
  hours: BusinessHours | null;
  /** A person has replied or taken the conversation: the bot is silent for good. */
  humanTookOver: boolean;
  state: BotState | null;
  message: BotMessage;
}

export type BotStep =
  | { kind: 'reply'; text?: string; templateId?: string }
  | { kind: 'store'; field: BotField; value: string }
  | { kind: 'tag'; tag: string }
  | { kind: 'assign'; userId: string }
  | { kind: 'handover'; reason: 'rule' | 'loop' | 'unanswered' };

export interface BotDecision {
  steps: BotStep[];
  /** The state to keep; null once handed over. */
  state: BotState | null;
  /** `bot` while the bot holds the conversation, `open` once it hands over. */
  status: 'bot' | 'open';
}

/** At most this many bot replies per conversation in LOOP_WINDOW_MS: beyond, another bot is answering. */
export const LOOP_LIMIT = 5;
export const LOOP_WINDOW_MS = 10 * 60_000;
const MAX_TRIES = 2;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Minutes since midnight and weekday of an instant in a time zone. */
function localTime(at: Date, timeZone: string): { day: number; minutes: number } {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(get('weekday'));
  return { day, minutes: Number(get('hour')) * 60 + Number(get('minute')) };
}

const toMinutes = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + (m ?? 0);
};

/** Whether an instant is inside the opening hours (no hours configured: always open). */
export function isOpen(hours: BusinessHours | null, at: Date): boolean {
  if (!hours) return true;
  const { day, minutes } = localTime(at, hours.timeZone);
  return hours.days.some((d) => d.day === day && minutes >= toMinutes(d.start) && minutes < toMinutes(d.end));
}

function matches(rule: BotRule, ctx: BotContext): boolean {
  const t = rule.trigger;
  if (t.kind === 'first_message') return ctx.message.first;
  if (t.kind === 'outside_hours') return !!ctx.hours && !isOpen(ctx.hours, ctx.message.at);
  const words = ctx.message.text.toLowerCase().split(/[^\p{L}\p{N}]+/u);
  return t.words.some((w) => w.trim() && words.includes(w.trim().toLowerCase()));
}

/** A field's answer, cleaned, or null when it is not one (an email without @, an empty name). */
export function fieldValue(field: BotField, text: string): string | null {
  const v = text.trim().replace(/\s+/g, ' ').slice(0, 200);
  if (!v) return null;
  if (field === 'email') {
    const found = v.split(' ').find((w) => EMAIL.test(w));
    return found ? found.toLowerCase().slice(0, 320) : null;
  }
  return v;
}

/** Runs actions in order until one asks for a field (the rest wait for the answer) or hands over. */
function run(actions: BotAction[], ruleId: string, state: BotState, steps: BotStep[]): BotDecision {
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i]!;
    if (a.kind === 'handover') {
      steps.push({ kind: 'handover', reason: 'rule' });
      return { steps, state: null, status: 'open' };
    }
    if (a.kind === 'ask') {
      steps.push({ kind: 'reply', text: a.prompt });
      state.asking = { field: a.field, ruleId, rest: actions.slice(i + 1), tries: 1 };
      return { steps, state, status: 'bot' };
    }
    steps.push(a.kind === 'reply' ? { kind: 'reply', text: a.text, templateId: a.templateId } : a);
  }
  delete state.asking;
  return { steps, state, status: 'bot' };
}

/**
 * One inbound message's decision. Silent (no step, status open) once a person took over. The loop guard: when
 * the bot has replied LOOP_LIMIT times in the window, or the message is its own last reply echoed back, it hands
 * over instead of answering (two bots never talk for ever).
 */
export function decide(ctx: BotContext): BotDecision {
  if (ctx.humanTookOver) return { steps: [], state: null, status: 'open' };
  const now = ctx.message.at.getTime();
  const prev = ctx.state;
  const fresh = !prev || now - Date.parse(prev.windowStart) >= LOOP_WINDOW_MS;
  const state: BotState = fresh
    ? { replies: 0, windowStart: ctx.message.at.toISOString(), ...(prev?.asking ? { asking: prev.asking } : {}) }
    : { ...prev };
  if (prev?.lastReply) state.lastReply = prev.lastReply;
  const echo = !!state.lastReply && ctx.message.text.trim() === state.lastReply.trim();
  if (echo || state.replies >= LOOP_LIMIT) {
    return { steps: [{ kind: 'handover', reason: 'loop' }], state: null, status: 'open' };
  }
  const decision = answer(ctx, state);
  const replies = decision.steps.filter((s) => s.kind === 'reply');
  if (decision.state && replies.length) {
    decision.state.replies += replies.length;
    const last = replies[replies.length - 1]!;
    if (last.kind === 'reply' && last.text) decision.state.lastReply = last.text;
  }
  return decision;
}

function answer(ctx: BotContext, state: BotState): BotDecision {
  const steps: BotStep[] = [];
  if (state.asking) {
    const { field, ruleId, rest, tries } = state.asking;
    const value = fieldValue(field, ctx.message.text);
    if (value) {
      steps.push({ kind: 'store', field, value });
      delete state.asking;
      return run(rest, ruleId, state, steps);
    }
    if (tries >= MAX_TRIES) {
      steps.push({ kind: 'handover', reason: 'unanswered' });
      return { steps, state: null, status: 'open' };
    }
    const rule = ctx.rules.find((r) => r.id === ruleId);
    const ask = rule?.actions.find((a) => a.kind === 'ask' && a.field === field);
    steps.push({ kind: 'reply', text: ask?.kind === 'ask' ? ask.prompt : field });
    state.asking = { ...state.asking, tries: tries + 1 };
    return { steps, state, status: 'bot' };
  }
  const rule = ctx.rules.find((r) => matches(r, ctx));
  if (!rule) return { steps, state, status: 'bot' };
  return run(rule.actions, rule.id, state, steps);
}
