import { DateTime } from 'luxon';

/** An IANA zone name (Europe/Rome, America/New_York, UTC) as luxon and Intl know it; never an offset typed by hand. */
export function isIanaZone(zone: string | null | undefined): zone is string {
  if (!zone || zone.length > 64 || !/^[A-Za-z]+(?:\/[A-Za-z0-9_+-]+)*$/.test(zone)) return false;
  return DateTime.now().setZone(zone).isValid;
}
