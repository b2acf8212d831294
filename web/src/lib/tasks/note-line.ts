/** The title of a task made from a note: the first line with text, without Markdown's marks, at most 500 chars. */
export function taskTitleFrom(markdown: string): string {
  for (const raw of markdown.split(/\r?\n/)) {
    const line = raw
      .replace(/^\s*(#{1,6}\s+|>\s*|[-*+]\s+(\[[ xX]\]\s+)?|\d+[.)]\s+)/, '')
      .replace(/(\*\*|__|\*|_|~~|`)/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/\s+/g, ' ')
      .trim();
    if (line) return [...line].slice(0, 500).join('');
  }
  return '';
}
