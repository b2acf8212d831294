import type { BusinessHours, RuleConditions, Weekday } from '../../db/entities/auto-reply-rule.entity.ts';

/** Whether `Intl` knows this IANA time zone. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Whether `at` falls outside the business hours, in their time zone. */
export function outsideHours(hours: BusinessHours, at: Date): boolean {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: hours.timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = part('weekday').toLowerCase().slice(0, 3) as Weekday;
  const time = `${part('hour').padStart(2, '0')}:${part('minute').padStart(2, '0')}`;
  const open = hours.days[day];
  if (!open) return true;
  return !(time >= open.open && time < open.close);
}

/** The facts about a customer message that the rules look at. */
export interface RuleInput {
  sender: string | null;
  subject: string;
  receivedAt: Date;
}

export function matches(c: RuleConditions, input: RuleInput): boolean {
  if (c.from?.length) {
    const s = input.sender ?? '';
    const domain = s.split('@')[1] ?? '';
    if (!c.from.some((f) => (f.includes('@') ? f === s : domain === f || domain.endsWith(`.${f}`)))) return false;
  }
  if (c.subjectContains?.length) {
    const subject = input.subject.toLowerCase();
    if (!c.subjectContains.some((w) => subject.includes(w.toLowerCase()))) return false;
  }
  if (c.outsideHours && !outsideHours(c.outsideHours, input.receivedAt)) return false;
  return true;
}
