/** English strings of Settings > Linked records: the workspace's own kinds of linked record. */
export const linkedKindsEn = {
  nav: 'Linked records',
  heading: 'Kinds of linked record',
  intro:
    'Other modules push projects, invoices and production jobs onto the company card. Add your own kinds and choose the card tab that lists them.',
  add: 'Add kind',
  newTitle: 'New kind',
  editTitle: 'Edit kind',
  key: 'Key',
  keyHint: 'Lowercase letters, digits and _, as the modules send it',
  keyExists: 'A kind with this key exists already',
  label: 'Label',
  tab: 'Card tab',
  type: 'Type',
  builtin: 'Built-in',
  custom: 'Custom',
  empty: 'No kinds.',
  deleteConfirm: (label: string) => `Delete the kind “${label}”? Only a kind no record uses can be deleted.`,
  adminOnly: 'Only workspace owners and admins can change the kinds.',
};
