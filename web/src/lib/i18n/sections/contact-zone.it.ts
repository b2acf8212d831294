import type { contactZoneEn } from './contact-zone.en.ts';

/** Stringhe italiane del fuso orario di un contatto (le sequenze inviano nelle sue ore). */
export const contactZoneIt: typeof contactZoneEn = {
  timeZone: 'Fuso orario',
  timeZoneUnset: 'Dal paese dell’azienda',
};
