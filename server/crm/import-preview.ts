import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { HttpError } from '../http/errors.ts';

/** The preview reads this much of a file at most: the header and the first rows fit in it. */
export const PREVIEW_MAX_BYTES = 1024 * 1024;
export const PREVIEW_ROWS = 5;
export const PREVIEW_MAX_COLUMNS = 500;
const PREVIEW_MAX_MS = 5_000;
const CELL_MAX = 500;

/**
 * The header and the first {@link PREVIEW_ROWS} rows of a CSV stream, bounded in bytes, columns, cells and time;
 * the rest of the stream is drained unread. A file that is not CSV, or is too wide, is a 400 that says so.
 */
export async function readPreview(stream: Readable): Promise<{ header: string[]; rows: string[][]; more: boolean }> {
  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    relax_quotes: true,
    max_record_size: 256 * 1024,
  });
  let bytes = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const records: string[][] = [];
  const reading = new Promise<void>((resolve, reject) => {
    timer = setTimeout(
      () => reject(new HttpError(408, 'request_timeout', 'The file took too long to arrive')),
      PREVIEW_MAX_MS,
    );
    stream.on('data', (chunk: Buffer) => {
      if (records.length > PREVIEW_ROWS + 1 || bytes >= PREVIEW_MAX_BYTES) return; // drained, unread
      bytes += chunk.length;
      parser.write(chunk);
    });
    stream.on('end', () => parser.end());
    stream.on('error', reject);
    parser.on('readable', () => {
      let record: string[] | null;
      while ((record = parser.read() as string[] | null) !== null) {
        if (records.length === 0 && record.length > PREVIEW_MAX_COLUMNS)
          return reject(
            new HttpError(400, 'too_many_columns', `A file may have at most ${PREVIEW_MAX_COLUMNS} columns`, {
              file: `has ${record.length} columns`,
            }),
          );
        if (records.length <= PREVIEW_ROWS + 1) records.push(record.map((c) => c.slice(0, CELL_MAX)));
      }
    });
    parser.on('error', (err) => {
      // The byte cap may cut a row in half: what was read before it is the preview.
      if (records.length > 1) return resolve();
      reject(
        new HttpError(400, 'invalid_csv', `The file could not be read as CSV: ${err.message}`, { file: 'is not CSV' }),
      );
    });
    parser.on('end', resolve);
  }).finally(() => clearTimeout(timer));
  await reading;
  parser.destroy();
  stream.resume();
  const [header = [], ...rows] = records;
  if (!header.some((h) => h.trim()))
    throw new HttpError(400, 'empty_csv', 'The file has no header row', { file: 'has no header row' });
  return { header, rows: rows.slice(0, PREVIEW_ROWS), more: rows.length > PREVIEW_ROWS || bytes >= PREVIEW_MAX_BYTES };
}
