/**
 * The block editor's pure operations on a campaign's block document: every edit returns a new document (the old
 * one stays as it was, for undo), blocks are found by id at the top level or inside a columns block.
 */
import type { Block, BlockDocument, BlockType, LeafBlock } from '#contracts/newsletters';

export type ColumnsBlock = Extract<Block, { type: 'columns' }>;
/** Where a block lives: the document's top level, or column `column` of the columns block `parent`. */
export type Place = { parent: null; index: number } | { parent: string; column: number; index: number };

export const DEFAULT_SETTINGS: BlockDocument['settings'] = {
  background: '#f3f4f6',
  contentBackground: '#ffffff',
  textColor: '#111827',
  accent: '#2563eb',
  font: 'sans',
};

export function emptyDocument(): BlockDocument {
  return { version: 1, settings: { ...DEFAULT_SETTINGS }, blocks: [] };
}

/** A new block id: short, random, unique enough within one document (the schema allows 40 characters). */
export function newId(): string {
  return `b${Math.random().toString(36).slice(2, 10)}${Date.now().toString(36).slice(-4)}`;
}

/** Text of a new block, given by the caller in the interface's language. */
export interface BlockTexts {
  heading: string;
  text: string;
  button: string;
  footerAddress: string;
}

/** A new block of `type` with sensible content, coloured with the document's accent. */
export function createBlock(type: BlockType, texts: BlockTexts, accent = DEFAULT_SETTINGS.accent): Block {
  const id = newId();
  switch (type) {
    case 'heading':
      return { id, type, text: texts.heading, level: 1, align: 'left' };
    case 'text':
      return { id, type, markdown: texts.text, align: 'left' };
    case 'image':
      return { id, type, src: 'https://placehold.co/600x200.png', alt: '', align: 'center' };
    case 'button':
      return { id, type, label: texts.button, href: 'https://example.com', color: accent, align: 'center' };
    case 'divider':
      return { id, type, color: '#e5e7eb' };
    case 'spacer':
      return { id, type, height: 24 };
    case 'social':
      return { id, type, links: [{ network: 'web', url: 'https://example.com' }] };
    case 'html':
      return { id, type, html: '<p></p>' };
    case 'footer':
      return { id, type, address: texts.footerAddress, text: '' };
    case 'columns':
      return { id, type, columns: [[], []] };
  }
}

/** The types that may go inside a column (no columns in columns, the footer only at the top level). */
export const isLeaf = (block: Block): block is LeafBlock => block.type !== 'columns' && block.type !== 'footer';

export function findBlock(doc: BlockDocument, id: string): { block: Block; place: Place } | null {
  for (const [index, block] of doc.blocks.entries()) {
    if (block.id === id) return { block, place: { parent: null, index } };
    if (block.type !== 'columns') continue;
    for (const [column, items] of block.columns.entries()) {
      const inner = items.findIndex((b) => b.id === id);
      if (inner >= 0) return { block: items[inner]!, place: { parent: block.id, column, index: inner } };
    }
  }
  return null;
}

/** The document with the columns block `id` changed by `change` (other blocks kept as they are). */
function withColumns(doc: BlockDocument, id: string, change: (b: ColumnsBlock) => ColumnsBlock): BlockDocument {
  return { ...doc, blocks: doc.blocks.map((b) => (b.id === id && b.type === 'columns' ? change(b) : b)) };
}

/** The list a block lives in, replaced by what `change` makes of it. */
function withList(doc: BlockDocument, place: Place, change: (list: Block[]) => Block[]): BlockDocument {
  if (place.parent === null) return { ...doc, blocks: change(doc.blocks) };
  const { column } = place;
  return withColumns(doc, place.parent, (b) => ({
    ...b,
    columns: b.columns.map((items, i) => (i === column ? (change(items) as LeafBlock[]) : items)),
  }));
}

/** Inserts at the top level (at `index`, else the end); a footer always stays last. */
export function insertBlock(doc: BlockDocument, block: Block, index?: number): BlockDocument {
  const blocks = [...doc.blocks];
  const footerAt = blocks.findIndex((b) => b.type === 'footer');
  const end = block.type !== 'footer' && footerAt >= 0 ? footerAt : blocks.length;
  blocks.splice(Math.min(index ?? end, end), 0, block);
  return { ...doc, blocks };
}

/** Appends a leaf block to column `column` of the columns block `parent`; unchanged when it may not go there. */
export function insertIntoColumn(doc: BlockDocument, parent: string, column: number, block: Block): BlockDocument {
  if (!isLeaf(block)) return doc;
  return withColumns(doc, parent, (b) => ({
    ...b,
    columns: b.columns.map((items, i) => (i === column ? [...items, block] : items)),
  }));
}

export function removeBlock(doc: BlockDocument, id: string): BlockDocument {
  const found = findBlock(doc, id);
  if (!found) return doc;
  return withList(doc, found.place, (list) => list.filter((b) => b.id !== id));
}

/** Moves a block up (-1) or down (+1) within its list; unchanged at either end. */
export function moveBlock(doc: BlockDocument, id: string, delta: -1 | 1): BlockDocument {
  const found = findBlock(doc, id);
  if (!found) return doc;
  const target = found.place.index + delta;
  return withList(doc, found.place, (list) => {
    if (target < 0 || target >= list.length) return list;
    const next = [...list];
    const [moved] = next.splice(found.place.index, 1);
    next.splice(target, 0, moved!);
    return next;
  });
}

/** Merges `patch` into the block `id` (its id and type never change). */
export function updateBlock(doc: BlockDocument, id: string, patch: Record<string, unknown>): BlockDocument {
  const found = findBlock(doc, id);
  if (!found) return doc;
  const updated = { ...found.block, ...patch, id, type: found.block.type } as Block;
  return withList(doc, found.place, (list) => list.map((b) => (b.id === id ? updated : b)));
}

/** A copy of the block with new ids (its columns' blocks too), right after it. */
export function duplicateBlock(doc: BlockDocument, id: string): BlockDocument {
  const found = findBlock(doc, id);
  if (!found) return doc;
  const copy = reId(found.block);
  return withList(doc, found.place, (list) => {
    const next = [...list];
    next.splice(found.place.index + 1, 0, copy);
    return next;
  });
}

function reId<T extends Block>(block: T): T {
  const copy = structuredClone(block);
  copy.id = newId();
  if (copy.type === 'columns') copy.columns = copy.columns.map((items) => items.map((b) => reId(b)));
  return copy;
}

/** Two or three columns; blocks of a removed column go to the last one kept. */
export function setColumnCount(doc: BlockDocument, id: string, count: 2 | 3): BlockDocument {
  return withColumns(doc, id, (b) => {
    if (b.columns.length === count) return b;
    if (count > b.columns.length) return { ...b, columns: [...b.columns, []] };
    const kept = b.columns.slice(0, count);
    kept[count - 1] = [...kept[count - 1]!, ...b.columns.slice(count).flat()];
    return { ...b, columns: kept };
  });
}

/** A list blocks are dragged in: the top level, or one column of a columns block. */
export type Zone = { parent: null } | { parent: string; column: number };

/**
 * A zone's list after a drag (svelte-dnd-action hands back the whole list of the zone dropped on, and of the zone
 * dragged from, in either order): the blocks listed are moved there from wherever they were; blocks the list no
 * longer has stay (at its end) until the zone they went to claims them, so no order of the two events loses one.
 * A columns block or a footer dropped into a column is refused (the document stays as it was); the footer stays last.
 */
export function placeInZone(doc: BlockDocument, zone: Zone, ordered: readonly { id: string }[]): BlockDocument {
  const claimed: Block[] = [];
  for (const o of ordered) {
    const found = findBlock(doc, o.id);
    if (!found || claimed.some((b) => b.id === o.id)) continue;
    if (zone.parent !== null && !isLeaf(found.block)) return doc;
    claimed.push(found.block);
  }
  const ids = new Set(claimed.map((b) => b.id));
  // Claimed blocks leave the columns they were in (a columns block claimed keeps what it holds now).
  const strip = (b: Block): Block =>
    b.type === 'columns' ? { ...b, columns: b.columns.map((items) => items.filter((x) => !ids.has(x.id))) } : b;
  if (zone.parent === null) {
    const top = claimed.map((b) => strip(b));
    const stayed = doc.blocks.filter((b) => !ids.has(b.id)).map(strip);
    const blocks = [...top, ...stayed];
    return {
      ...doc,
      blocks: [...blocks.filter((b) => b.type !== 'footer'), ...blocks.filter((b) => b.type === 'footer')],
    };
  }
  const { parent, column } = zone;
  const blocks = doc.blocks
    .filter((b) => !ids.has(b.id))
    .map((b) => {
      if (b.type !== 'columns') return b;
      const columns = b.columns.map((items, i) => {
        if (b.id !== parent || i !== column) return items.filter((x) => !ids.has(x.id));
        return [...(claimed as LeafBlock[]), ...items.filter((x) => !ids.has(x.id))];
      });
      return { ...b, columns };
    });
  return { ...doc, blocks };
}

/** Every block with its depth, in reading order (for the outline a phone shows and for tests). */
export function flatten(doc: BlockDocument): { block: Block; depth: number }[] {
  return doc.blocks.flatMap((block) => [
    { block, depth: 0 },
    ...(block.type === 'columns' ? block.columns.flat().map((b) => ({ block: b as Block, depth: 1 })) : []),
  ]);
}

/**
 * Undo and redo over immutable values: `push` records the value before a change; consecutive pushes with the
 * same `key` (typing in one field) make one step, so one Ctrl+Z undoes a word burst, not a keystroke.
 */
export class HistoryStack<T> {
  #past: T[] = [];
  #future: T[] = [];
  #lastKey: string | null = null;
  readonly limit: number;

  constructor(limit = 100) {
    this.limit = limit;
  }

  get canUndo(): boolean {
    return this.#past.length > 0;
  }
  get canRedo(): boolean {
    return this.#future.length > 0;
  }

  /** Records `before` (the value being replaced); `key` groups a burst of edits of one thing into one step. */
  push(before: T, key: string | null = null): void {
    this.#future = [];
    if (key !== null && key === this.#lastKey) return;
    this.#lastKey = key;
    this.#past.push(before);
    if (this.#past.length > this.limit) this.#past.shift();
  }

  /** The value to go back to, given the current one (kept for redo); null when there is none. */
  undo(current: T): T | null {
    const previous = this.#past.pop();
    if (previous === undefined) return null;
    this.#future.push(current);
    this.#lastKey = null;
    return previous;
  }

  redo(current: T): T | null {
    const next = this.#future.pop();
    if (next === undefined) return null;
    this.#past.push(current);
    this.#lastKey = null;
    return next;
  }

  /** Ends a burst: the next edit of the same key is a step of its own. */
  seal(): void {
    this.#lastKey = null;
  }

  clear(): void {
    this.#past = [];
    this.#future = [];
    this.#lastKey = null;
  }
}
