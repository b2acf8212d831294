import type { ConsentStatus } from '#contracts/consent';
import type { PublicText } from './public.text.ts';
import { textHash, type ConfirmView, type FormView, type UnsubscribeView } from './public.service.ts';

/** The public newsletter pages as plain HTML: no script, so every form works without JavaScript. */

export const esc = (v: string) =>
  v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** No script at all; styles inline; forms post only here; never framed. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLE = `*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1e293b;background:#f1f5f9}
main{max-width:32rem;margin:0 auto;padding:1.5rem 1rem}.card{background:#fff;border:1px solid #e2e8f0;border-radius:.75rem;padding:1.25rem;margin-bottom:1rem}
.ws{font-size:.875rem;color:#64748b;margin:0 0 .75rem;font-weight:600;letter-spacing:.01em}h1{font-size:1.25rem;line-height:1.3;margin:0 0 .75rem;overflow-wrap:anywhere}
h2{font-size:1.05rem;margin:0 0 .5rem}p{margin:0 0 .75rem;overflow-wrap:anywhere}label{display:block;font-weight:500;margin:.75rem 0 .25rem}
input[type=email],input[type=text]{width:100%;font:inherit;padding:.625rem .75rem;border:1px solid #cbd5e1;border-radius:.5rem;background:#fff}
input:focus,button:focus{outline:2px solid #2563eb;outline-offset:2px}.check{display:flex;gap:.625rem;align-items:flex-start;font-weight:400;margin:.75rem 0}
.check input{width:1.25rem;height:1.25rem;margin:.125rem 0 0;flex:none}button{width:100%;font:inherit;font-weight:600;margin-top:1rem;padding:.75rem 1rem;border:0;border-radius:.5rem;background:#2563eb;color:#fff;cursor:pointer}
button.quiet{background:#e2e8f0;color:#1e293b}.muted{color:#64748b;font-size:.875rem}.error{color:#b91c1c;font-size:.875rem;margin:.25rem 0 0}
.hint{display:block}.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}.consent{background:#f8fafc;border-radius:.5rem;padding:.75rem;white-space:pre-line}
footer{text-align:center;color:#94a3b8;font-size:.75rem}@media(min-width:40rem){main{padding-top:3rem}.card{padding:1.75rem}button{width:auto}}`;

export function layout(t: PublicText, title: string, workspace: string | null, body: string): string {
  return `<!doctype html><html lang="${t.lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex,nofollow">
<meta name="referrer" content="no-referrer"><title>${esc(workspace ? `${title} · ${workspace}` : title)}</title>
<style>${STYLE}</style></head><body><main>${body}<footer>${esc(t.footer)}</footer></main></body></html>`;
}

const card = (workspace: string | null, inner: string) =>
  `<section class="card">${workspace ? `<p class="ws" data-testid="workspace">${esc(workspace)}</p>` : ''}${inner}</section>`;

/** A page with a heading and a sentence (not found, too many attempts, done). */
export function messagePage(t: PublicText, title: string, text: string, workspace: string | null = null): string {
  return layout(t, title, workspace, card(workspace, `<h1>${esc(title)}</h1><p>${esc(text)}</p>`));
}

const listNames = (t: PublicText, lists: { name: string }[]) =>
  lists.length ? lists.map((l) => `“${l.name}”`).join(', ') : t.allMailings;

const statusNote = (t: PublicText, s: ConsentStatus) =>
  s === 'unconfirmed'
    ? t.statusUnconfirmed
    : s === 'bounced'
      ? t.statusBounced
      : s === 'complained'
        ? t.statusComplained
        : '';

/** `/u/<token>`: the one-click question (or its answer) and the preference center. */
export function unsubscribePage(
  t: PublicText,
  v: UnsubscribeView,
  token: string,
  state: 'ask' | 'unsubscribed' | 'saved',
): string {
  const address = v.address ?? '';
  const names = listNames(t, v.sendLists);
  const head =
    state === 'ask'
      ? `<h1>${esc(t.unsubscribeAsk(address, names))}</h1>
<form method="post" action="/u/${token}"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<input type="hidden" name="from" value="page">
<button type="submit" data-testid="unsubscribe">${esc(t.unsubscribeButton)}</button></form>`
      : state === 'unsubscribed'
        ? `<h1 data-testid="done">${esc(t.unsubscribedTitle)}</h1><p>${esc(t.unsubscribedBody(address, names))}</p>`
        : `<h1 data-testid="done">${esc(t.savedTitle)}</h1><p>${esc(t.savedBody)}</p>`;
  const blockedAll = v.all === 'bounced' || v.all === 'complained';
  const rows = v.lists
    .map((l) => {
      const note = statusNote(t, l.status);
      const on = l.status === 'subscribed' || l.status === 'unconfirmed';
      const fixed = l.status === 'bounced' || l.status === 'complained';
      return `<label class="check"><input type="checkbox" name="list" value="${esc(l.id)}"${on ? ' checked' : ''}${fixed ? ' disabled' : ''}>
<span>${esc(l.name)}${note ? ` <span class="muted">(${esc(note)})</span>` : ''}</span></label>`;
    })
    .join('');
  const allOn = v.all !== null && v.all !== 'subscribed';
  const prefs = `<h2>${esc(t.preferencesTitle)}</h2><p class="muted">${esc(t.preferencesHint)}</p>
<form method="post" action="/u/${token}/preferences">${rows}
<label class="check"><input type="checkbox" name="all" value="1"${allOn ? ' checked' : ''}${blockedAll ? ' disabled' : ''}>
<span>${esc(t.unsubscribeAll)} <span class="muted hint">${esc(blockedAll ? statusNote(t, v.all!) : t.unsubscribeAllHint)}</span></span></label>
<button type="submit" class="quiet" data-testid="save">${esc(t.save)}</button></form>`;
  return layout(t, t.unsubscribeTitle, v.workspace, card(v.workspace, head) + (address ? card(null, prefs) : ''));
}

export interface FormState {
  values?: { email?: string; firstName?: string; lastName?: string };
  errors?: { email?: boolean; consent?: boolean; textChanged?: boolean };
}

/** `/s/<listId>`: the subscription form; the consent text shown is what the sign-up's evidence keeps. */
export function subscribePage(t: PublicText, v: FormView, state: FormState = {}): string {
  const text = v.consentText(t);
  const val = state.values ?? {};
  const err = state.errors ?? {};
  const field = (name: string, label: string, value: string | undefined, type: string, extra: string) =>
    `<label for="${name}">${label}</label><input id="${name}" name="${name}" type="${type}" value="${esc(value ?? '')}" ${extra}>`;
  const body = `<h1>${esc(t.subscribeTitle(v.list.name))}</h1>${v.list.description ? `<p class="muted">${esc(v.list.description)}</p>` : ''}
${err.textChanged ? `<p class="error" role="alert">${esc(t.textChanged)}</p>` : ''}
<form method="post" action="/s/${esc(v.list.id)}" novalidate>
${field('email', esc(t.email), val.email, 'email', `required maxlength="254" autocomplete="email"${err.email ? ' aria-invalid="true" aria-describedby="email-error"' : ''}`)}
${err.email ? `<p class="error" id="email-error">${esc(t.emailInvalid)}</p>` : ''}
${field('firstName', `${esc(t.firstName)} <span class="muted">(${esc(t.optional)})</span>`, val.firstName, 'text', 'maxlength="100" autocomplete="given-name"')}
${field('lastName', `${esc(t.lastName)} <span class="muted">(${esc(t.optional)})</span>`, val.lastName, 'text', 'maxlength="100" autocomplete="family-name"')}
<div class="hp" aria-hidden="true"><label for="website">${esc(t.honeypot)}</label><input id="website" name="website" type="text" tabindex="-1" autocomplete="off"></div>
<input type="hidden" name="consentHash" value="${textHash(text)}">
<label class="check"><input type="checkbox" name="consent" value="yes" required${err.consent ? ' aria-invalid="true"' : ''}>
<span class="consent" data-testid="consent-text">${esc(text)}</span></label>
${err.consent ? `<p class="error">${esc(t.consentRequired)}</p>` : ''}
<button type="submit" data-testid="subscribe">${esc(t.subscribeButton)}</button></form>`;
  return layout(t, t.subscribeTitle(v.list.name), v.workspace, card(v.workspace, body));
}

/** The neutral answer of every accepted sign-up, whatever the address's history. */
export const checkInboxPage = (t: PublicText, workspace: string) =>
  messagePage(t, t.checkInboxTitle, t.checkInboxBody, workspace);

/** `/s/confirm/<token>`: a button (a GET confirms nothing), or the confirmation done. */
export function confirmPage(t: PublicText, v: ConfirmView, token: string, done: boolean): string {
  const body = done
    ? `<h1 data-testid="done">${esc(t.confirmedTitle)}</h1><p>${esc(t.confirmedBody(v.address, `“${v.listName}”`))}</p>`
    : `<h1>${esc(t.confirmAsk(v.address, `“${v.listName}”`))}</h1><form method="post" action="/s/confirm/${token}">
<button type="submit" data-testid="confirm">${esc(t.confirmButton)}</button></form>`;
  return layout(t, done ? t.confirmedTitle : t.confirmTitle, v.workspace, card(v.workspace, body));
}
