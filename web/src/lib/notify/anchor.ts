/** A link to a note (`#note-<id>`, from a notification or its email): the note is scrolled to and highlighted. */
export function revealNote(hash: string): boolean {
  const match = /^#(note-[0-9a-f-]{36})$/i.exec(hash);
  const el = match ? document.getElementById(match[1]!) : null;
  if (!el) return false;
  el.scrollIntoView({ block: 'center' });
  el.dataset.highlighted = 'true';
  if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
  el.focus({ preventScroll: true });
  return true;
}
