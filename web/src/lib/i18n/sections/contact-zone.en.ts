/** English strings of a contact's own time zone (sequences send inside the prospect's hours there). */
export const contactZoneEn = {
  timeZone: 'Time zone',
  /** The empty choice: the company's country decides, else the sending mailbox's zone. */
  timeZoneUnset: 'From the company’s country',
};
