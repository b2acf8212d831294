/** Shared Tailwind class lists, so that controls look the same everywhere. */
const focus = 'focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600';

export const ui = {
  label: 'block text-sm font-medium text-slate-700',
  hint: 'mt-1 text-xs text-slate-500',
  input:
    'mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none aria-[invalid=true]:border-red-400 disabled:bg-slate-50',
  inputBare:
    'block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:ring-2 focus:ring-indigo-500/30 focus:outline-none',
  fieldError: 'mt-1 text-xs text-red-700',
  primary: `inline-flex items-center justify-center gap-1.5 rounded-md bg-indigo-600 px-3.5 py-2 text-sm font-medium text-white shadow-sm hover:bg-indigo-500 disabled:cursor-wait disabled:opacity-60 ${focus}`,
  secondary: `inline-flex items-center justify-center gap-1.5 rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-700 shadow-sm hover:bg-slate-50 disabled:cursor-not-allowed disabled:opacity-60 ${focus}`,
  danger: `inline-flex items-center justify-center gap-1.5 rounded-md border border-red-300 bg-white px-3 py-1.5 text-sm font-medium text-red-700 shadow-sm hover:bg-red-50 disabled:opacity-60 ${focus}`,
  ghost: `inline-flex items-center justify-center gap-1 rounded-md px-2 py-1 text-sm text-slate-600 hover:bg-slate-100 hover:text-slate-900 disabled:opacity-50 ${focus}`,
  link: `font-medium text-indigo-700 hover:text-indigo-600 hover:underline ${focus}`,
  card: 'rounded-xl border border-slate-200 bg-white shadow-sm',
  h1: 'text-2xl font-semibold tracking-tight text-slate-900',
  h2: 'text-base font-semibold text-slate-900',
  th: 'px-4 py-2.5 text-left text-xs font-semibold tracking-wide text-slate-500 uppercase',
  td: 'px-4 py-3 text-sm text-slate-700',
} as const;
