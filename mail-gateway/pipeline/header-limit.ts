import { Transform, type TransformCallback } from 'node:stream';

/** mailsplit fails the whole message when one header block passes 1 MB; stay well under that. */
export const MAX_HEADER_BLOCK_BYTES = 512 * 1024;

const LF = 0x0a;
const HEADER_NAME = /^[\x21-\x39\x3b-\x7e]+[ \t]*:/;

/**
 * Passes a message through, keeping at most `maxHeaders` fields (and MAX_HEADER_BLOCK_BYTES) of its top-level header
 * block, and starting the body at the first line that is neither a field nor a continuation (as Postfix does), so that
 * a message with no blank line after its headers keeps its body. Everything after the header block passes untouched.
 */
export class HeaderLimit extends Transform {
  readonly #maxHeaders: number;
  readonly #report: (problem: string) => void;
  #inHeaders = true;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #overlong = false;
  #fields = 0;
  #keptBytes = 0;
  #lines = 0;
  #dropping = false;
  #tooMany = 0;
  #tooBig = 0;

  constructor(maxHeaders: number, report: (problem: string) => void) {
    super();
    this.#maxHeaders = maxHeaders;
    this.#report = report;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
    if (!this.#inHeaders) return done(null, chunk);
    let start = 0;
    while (this.#inHeaders) {
      const lf = chunk.indexOf(LF, start);
      if (lf < 0) break;
      const piece = chunk.subarray(start, lf + 1);
      start = lf + 1;
      if (this.#overlong) {
        this.#overlong = false;
        this.#pending = [];
        this.#pendingBytes = 0;
        continue;
      }
      const line = this.#pendingBytes ? Buffer.concat([...this.#pending, piece]) : piece;
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#line(line);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (!this.#inHeaders) {
        this.push(rest);
      } else if (!this.#overlong) {
        this.#pending.push(rest);
        this.#pendingBytes += rest.length;
        if (this.#pendingBytes > MAX_HEADER_BLOCK_BYTES) {
          // a "line" this long is no header: drop it up to its end rather than buffer it
          this.#overlong = true;
          this.#pending = [];
          this.#pendingBytes = 0;
          this.#report('header line too long: dropped');
        }
      }
    }
    done();
  }

  override _flush(done: TransformCallback) {
    if (this.#inHeaders && this.#pendingBytes && !this.#overlong) this.#line(Buffer.concat(this.#pending));
    this.#pending = [];
    if (this.#inHeaders) this.#reportDropped();
    done();
  }

  #reportDropped() {
    if (this.#tooMany) this.#report(`too many headers: kept first ${this.#maxHeaders}, dropped ${this.#tooMany}`);
    if (this.#tooBig)
      this.#report(`header block too large: dropped ${this.#tooBig} lines past ${MAX_HEADER_BLOCK_BYTES} bytes`);
  }

  #line(line: Buffer) {
    const index = this.#lines++;
    const first = line[0];
    if (first === LF || (first === 0x0d && line[1] === LF) || line.length === 0) {
      this.#endHeaders(line);
      return;
    }
    const head = line.toString('latin1', 0, Math.min(line.length, 200));
    const continuation = first === 0x20 || first === 0x09;
    if (continuation || HEADER_NAME.test(head)) {
      if (!continuation) {
        this.#fields++;
        this.#dropping = this.#fields > this.#maxHeaders;
        if (this.#dropping) this.#tooMany++;
      }
      if (this.#dropping) return;
      if (this.#keptBytes + line.length > MAX_HEADER_BLOCK_BYTES) {
        this.#dropping = true;
        this.#tooBig++;
        return;
      }
      this.#keep(line);
      return;
    }
    if (index === 0 && head.startsWith('From ')) return; // an mbox separator, not part of the message
    this.#report('no blank line between headers and body');
    this.push(Buffer.from('\r\n'));
    this.#endHeaders(line);
  }

  #keep(line: Buffer) {
    this.#keptBytes += line.length;
    this.push(line);
  }

  #endHeaders(line: Buffer) {
    this.#inHeaders = false;
    this.#reportDropped();
    this.push(line);
  }
}
