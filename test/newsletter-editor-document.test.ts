import { describe, expect, it } from 'vitest';
import { blockDocument, type Block, type BlockDocument } from '#contracts/newsletters';
import {
  createBlock,
  duplicateBlock,
  emptyDocument,
  findBlock,
  HistoryStack,
  insertBlock,
  insertIntoColumn,
  moveBlock,
  removeBlock,
  placeInZone,
  setColumnCount,
  updateBlock,
} from '#lib/newsletters/editor/document.ts';

/** The block editor's document operations: pure, immutable, and always giving a document the server accepts. */

const texts = { heading: 'Heading', text: 'Text', button: 'Click', footerAddress: 'Via Roma 1, 00100 Roma' };
const ids = (doc: BlockDocument) => doc.blocks.map((b) => b.type);

function sample() {
  let doc = emptyDocument();
  const heading = createBlock('heading', texts);
  const text = createBlock('text', texts);
  const footer = createBlock('footer', texts);
  const columns = createBlock('columns', texts);
  doc = insertBlock(doc, heading);
  doc = insertBlock(doc, footer);
  doc = insertBlock(doc, text);
  doc = insertBlock(doc, columns);
  return { doc, heading, text, footer, columns };
}

describe('block document operations', () => {
  it('every new block of every type makes a valid document; the footer stays last', () => {
    let doc = emptyDocument();
    for (const type of [
      'footer',
      'heading',
      'text',
      'image',
      'button',
      'columns',
      'divider',
      'spacer',
      'social',
      'html',
    ] as const)
      doc = insertBlock(doc, createBlock(type, texts));
    expect(blockDocument.safeParse(doc).success).toBe(true);
    expect(doc.blocks.at(-1)!.type).toBe('footer');
    expect(new Set(doc.blocks.map((b) => b.id)).size).toBe(doc.blocks.length);
  });

  it('moves up and down within the list, never past either end, and never mutates the original', () => {
    const { doc, heading, text } = sample();
    expect(ids(doc)).toEqual(['heading', 'text', 'columns', 'footer']);
    const moved = moveBlock(doc, text.id, -1);
    expect(ids(moved)).toEqual(['text', 'heading', 'columns', 'footer']);
    expect(ids(doc)).toEqual(['heading', 'text', 'columns', 'footer']);
    expect(moveBlock(moved, text.id, -1)).toEqual(moved);
    expect(findBlock(moveBlock(doc, heading.id, 1), heading.id)!.place.index).toBe(1);
  });

  it('a drag into a column moves the block out of the top level, whichever zone reports first', () => {
    const { doc, text, columns, heading, footer } = sample();
    const into = { parent: columns.id, column: 1 };
    const topAfter = [heading, columns, footer].map((b) => ({ id: b.id }));
    // The column first, then the top level; and the other way round: the same document.
    const a = placeInZone(placeInZone(doc, into, [{ id: text.id }]), { parent: null }, topAfter);
    const b = placeInZone(placeInZone(doc, { parent: null }, topAfter), into, [{ id: text.id }]);
    expect(a).toEqual(b);
    expect(ids(a)).toEqual(['heading', 'columns', 'footer']);
    expect(findBlock(a, text.id)!.place).toEqual({ parent: columns.id, column: 1, index: 0 });
    expect(blockDocument.safeParse(a).success).toBe(true);
    // Half-way (the origin reported, the destination not yet), the block is still in the document.
    expect(findBlock(placeInZone(doc, { parent: null }, topAfter), text.id)).not.toBeNull();
    // Back out of the column to the top, first place.
    const back = placeInZone(a, { parent: null }, [{ id: text.id }, ...topAfter]);
    expect(ids(back)).toEqual(['text', 'heading', 'columns', 'footer']);
    const cols = back.blocks.find((x) => x.id === columns.id) as Extract<Block, { type: 'columns' }>;
    expect(cols.columns.map((c) => c.length)).toEqual([0, 0]);
    // Columns and footers never go into a column.
    expect(placeInZone(doc, into, [{ id: footer.id }])).toBe(doc);
    expect(insertIntoColumn(doc, columns.id, 0, createBlock('columns', texts))).toBe(doc);
  });

  it('a top-level reorder keeps the footer last and ignores ids it does not know', () => {
    const { doc, heading, text, footer, columns } = sample();
    const order = [footer, columns, text, heading].map((b) => ({ id: b.id }));
    expect(ids(placeInZone(doc, { parent: null }, order))).toEqual(['columns', 'text', 'heading', 'footer']);
    const withStranger = placeInZone(doc, { parent: null }, [{ id: 'stranger' }, ...order]);
    expect(ids(withStranger)).toEqual(['columns', 'text', 'heading', 'footer']);
  });

  it('updates keep id and type; removal and duplication reach inside columns; column count merges', () => {
    const { doc, text, columns } = sample();
    let next = updateBlock(doc, text.id, { markdown: 'Hello **there**', id: 'evil', type: 'html' });
    expect(findBlock(next, text.id)!.block).toMatchObject({ type: 'text', markdown: 'Hello **there**' });
    next = insertIntoColumn(next, columns.id, 1, createBlock('button', texts));
    next = setColumnCount(next, columns.id, 3);
    const inner = (next.blocks.find((b) => b.id === columns.id) as Extract<Block, { type: 'columns' }>).columns[1]![0]!;
    next = duplicateBlock(next, inner.id);
    let cols = next.blocks.find((b) => b.id === columns.id) as Extract<Block, { type: 'columns' }>;
    expect(cols.columns.map((c) => c.length)).toEqual([0, 2, 0]);
    expect(cols.columns[1]![1]!.id).not.toBe(inner.id);
    next = setColumnCount(next, columns.id, 2);
    next = removeBlock(next, inner.id);
    cols = next.blocks.find((b) => b.id === columns.id) as Extract<Block, { type: 'columns' }>;
    expect(cols.columns.map((c) => c.length)).toEqual([0, 1]);
    expect(blockDocument.safeParse(next).success).toBe(true);
  });
});

describe('the undo history', () => {
  it('undoes and redoes; a burst of edits with one key is one step; a new edit drops the redo', () => {
    const h = new HistoryStack<string>();
    let value = 'a';
    const edit = (next: string, key: string | null = null) => {
      h.push(value, key);
      value = next;
    };
    edit('ab', 'title');
    edit('abc', 'title');
    edit('abcd', 'title');
    edit('X');
    expect((value = h.undo(value)!)).toBe('abcd');
    expect((value = h.undo(value)!)).toBe('a');
    expect(h.undo(value)).toBeNull();
    expect((value = h.redo(value)!)).toBe('abcd');
    edit('Y');
    expect(h.canRedo).toBe(false);
    expect((value = h.undo(value)!)).toBe('abcd');
  });
});
