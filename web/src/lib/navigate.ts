/** Opening the record a search hit or a notification is about. (Links in templates call `resolve()` inline.) */
import { goto } from '$app/navigation';
import { resolve } from '$app/paths';
import { deals } from './crm/api.ts';
import { ENTITY_TYPES } from '#contracts/common';
import type { SearchHit } from '#contracts/crm';
import type { Notification as AppNotification } from '#contracts/timeline';

export function openHit(hit: SearchHit): Promise<void> {
  switch (hit.type) {
    case 'company':
      return goto(resolve('/(app)/companies/[id]', { id: hit.id }));
    case 'contact':
      return goto(resolve('/(app)/contacts/[id]', { id: hit.id }));
    case 'deal':
      return hit.companyId
        ? goto(resolve('/(app)/companies/[id]?tab=deals', { id: hit.companyId }))
        : goto(resolve('/(app)/deals'));
    case 'note':
      return hit.companyId
        ? goto(resolve('/(app)/companies/[id]?tab=notes', { id: hit.companyId }))
        : goto(resolve('/(app)/companies'));
    case 'linked_record':
      // A project, invoice or production job: its company's tab that lists it.
      return hit.companyId
        ? goto(resolve(`/(app)/companies/[id]?tab=${hit.tab ?? 'projects'}`, { id: hit.companyId }))
        : goto(resolve('/(app)/companies'));
  }
}

/** Whether {@link openNotification} has somewhere to go. */
export const hasTarget = (n: AppNotification): boolean =>
  Boolean(n.entityId && [...ENTITY_TYPES, 'meeting'].includes(n.entityType ?? ''));

export async function openNotification(n: AppNotification): Promise<void> {
  if (!n.entityId) return;
  // A mention opens its note (scrolled to and highlighted), not just the record.
  const note = n.noteId ? `#note-${n.noteId}` : '';
  if (n.entityType === 'company')
    // eslint-disable-next-line svelte/no-navigation-without-resolve -- the path is resolve()'s; the note's anchor is added
    return goto(`${resolve('/(app)/companies/[id]?tab=notes', { id: n.entityId })}${note}`);
  if (n.entityType === 'contact')
    // eslint-disable-next-line svelte/no-navigation-without-resolve -- the path is resolve()'s; the note's anchor is added
    return goto(`${resolve('/(app)/contacts/[id]', { id: n.entityId })}${note}`);
  if (n.entityType === 'conversation') return goto(resolve('/(app)/inbox/[[id]]', { id: n.entityId }));
  // A meeting invitation: the invitee's agenda, where it sits among their other calls.
  if (n.entityType === 'meeting') return goto(resolve('/(app)/meetings'));
  if (n.entityType === 'deal') {
    // A deal has no page of its own: its company's card, or the board.
    const deal = await deals.get(n.entityId).catch(() => null);
    return deal?.companyId
      ? goto(resolve('/(app)/companies/[id]?tab=deals', { id: deal.companyId }))
      : goto(resolve('/(app)/deals'));
  }
}
