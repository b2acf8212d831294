import { createReadStream, type WriteStream } from 'node:fs';
import type pg from 'pg';

/** The parts of pg's connection a COPY drives (the submittable protocol pg-copy-streams uses too). */
interface Connection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
  stream: { pause(): void; resume(): void };
}

/** A submittable that runs one COPY statement on a pg.Client: the driver has no COPY of its own. */
abstract class CopyQuery {
  readonly text: string;
  protected error: unknown;
  protected done!: (value: number) => void;
  protected fail!: (err: unknown) => void;
  protected rows = 0;
  readonly finished: Promise<number>;

  constructor(text: string) {
    this.text = text;
    this.finished = new Promise<number>((resolve, reject) => {
      this.done = resolve;
      this.fail = reject;
    });
  }

  submit(connection: Connection): void {
    connection.query(this.text);
  }

  handleCommandComplete(msg: { text: string }): void {
    this.rows = Number(/\d+$/.exec(msg.text)?.[0] ?? 0);
  }

  handleError(err: unknown): void {
    this.error = err;
  }

  handleReadyForQuery(): void {
    if (this.error) this.fail(this.error);
    else this.done(this.rows);
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(connection: Connection): void {
    connection.sendCopyFail('unexpected COPY FROM');
  }
  handleCopyData(_msg: { chunk: Buffer }, _connection: Connection): void {}
}

class CopyOut extends CopyQuery {
  readonly #out: WriteStream;
  constructor(text: string, out: WriteStream) {
    super(text);
    this.#out = out;
  }
  override handleCopyData(msg: { chunk: Buffer }, connection: Connection): void {
    // The socket waits while the file catches up: a large table never piles up in memory.
    if (!this.#out.write(msg.chunk)) {
      connection.stream.pause();
      this.#out.once('drain', () => connection.stream.resume());
    }
  }
}

class CopyIn extends CopyQuery {
  readonly #file: string;
  constructor(text: string, file: string) {
    super(text);
    this.#file = file;
  }
  override handleCopyInResponse(connection: Connection): void {
    void (async () => {
      try {
        for await (const chunk of createReadStream(this.#file, { highWaterMark: 256 * 1024 })) {
          connection.sendCopyFromChunk(chunk as Buffer);
        }
        connection.endCopyFrom();
      } catch (err) {
        connection.sendCopyFail(`reading ${this.#file} failed: ${(err as Error).message}`);
      }
    })();
  }
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
export const qualified = (schema: string, table: string) => `${ident(schema)}.${ident(table)}`;

/** `COPY table TO STDOUT` (text format: one line per row) into `out`; resolves with the row count. */
export async function copyTableOut(client: pg.Client, table: string, out: WriteStream): Promise<number> {
  const query = new CopyOut(`copy ${table} to stdout`, out);
  void client.query(query as never);
  const rows = await query.finished;
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return rows;
}

/** `COPY table FROM STDIN` from a file written by copyTableOut; resolves with the row count. */
export async function copyTableIn(client: pg.Client, table: string, file: string): Promise<number> {
  const query = new CopyIn(`copy ${table} from stdin`, file);
  void client.query(query as never);
  return query.finished;
}
