/** What a timeline entry shows, whatever its kind: shared by the CRM and meetings renderers (no import cycle). */
import type { IconName } from '#lib/components/ui/Icon.svelte';

export interface ActivityView {
  icon: IconName;
  /** Tailwind classes of the icon's circle. */
  tone: string;
  what: string;
  detail: string | null;
  /** A note's excerpt, shown as a quote. */
  excerpt: string | null;
  /** The excerpt is Markdown written by a member (a call's note): rendered, sanitized. */
  markdown?: boolean;
  /** The inbox conversation an email entry opens. */
  conversationId?: string;
  /** Something went wrong (a bounce): shown in a warning style. */
  warning?: boolean;
  /** Links under the entry, e.g. a call's "View recording". */
  links?: { href: string; label: string }[];
}

export const tones = {
  note: 'bg-amber-100 text-amber-800',
  deal: 'bg-indigo-100 text-indigo-800',
  won: 'bg-emerald-100 text-emerald-800',
  lost: 'bg-red-100 text-red-800',
  contact: 'bg-sky-100 text-sky-800',
  company: 'bg-violet-100 text-violet-800',
  document: 'bg-slate-200 text-slate-800',
  email: 'bg-sky-100 text-sky-800',
  autoReply: 'bg-slate-100 text-slate-500',
  bounce: 'bg-red-100 text-red-800',
  meeting: 'bg-teal-100 text-teal-800',
  conversation: 'bg-slate-100 text-slate-700',
};

/** A non-empty trimmed string, or null. */
export const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v.trim() : null);
