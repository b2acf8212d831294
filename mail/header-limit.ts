import { Transform, type TransformCallback } from 'node:stream';

/** mailsplit fails the whole message when one header block passes 1 MB; stay well under that. */
export const MAX_HEADER_BLOCK_BYTES = 512 * 1024;
/** Lines of the header block kept: parsers (mailauth's above all) slow down super-linearly with many lines. */
export const MAX_HEADER_LINES = 5000;
/** Lines one field keeps (its first and continuations): no real field is folded over more. */
export const MAX_FIELD_LINES = 1000;
/** Past these the header block is refused at SMTP time (552): no mail program writes such a block. */
export const SMTP_MAX_HEADER_BYTES = 1024 * 1024;
export const SMTP_MAX_HEADER_LINES = 10_000;

const LF = 0x0a;
const HEADER_NAME = /^[\x21-\x39\x3b-\x7e]+[ \t]*:/;

/**
 * Passes a message through, keeping at most `maxHeaders` fields, MAX_HEADER_LINES lines (MAX_FIELD_LINES per field) and
 * MAX_HEADER_BLOCK_BYTES of its top-level header block, and starting the body at the first line that is neither a field nor a continuation (as Postfix does), so that
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
  #keptLines = 0;
  #fieldLines = 0;
  #tooManyLines = 0;
  #folded = 0;
  #longLines = 0;

  constructor(maxHeaders: number, report: (problem: string) => void) {
    super();
    this.#maxHeaders = maxHeaders;
    this.#report = report;
  }

  /** Whether anything of the header block was dropped: what follows read a shortened copy of the message. */
  get truncated(): boolean {
    return this.#tooMany + this.#tooBig + this.#tooManyLines + this.#folded + this.#longLines > 0;
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
      // the same line, however the message was cut into chunks (whole in one, or past the limit while pending)
      if (line.length > MAX_HEADER_BLOCK_BYTES) this.#dropLong();
      else this.#line(line);
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
          this.#dropLong();
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
    if (this.#tooManyLines)
      this.#report(`header block too long: dropped ${this.#tooManyLines} lines past ${MAX_HEADER_LINES}`);
    if (this.#folded)
      this.#report(`header field folded over more than ${MAX_FIELD_LINES} lines: dropped ${this.#folded} lines`);
  }

  #dropLong() {
    this.#longLines++;
    this.#report('header line too long: dropped');
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
        this.#fieldLines = 0;
        this.#dropping = this.#fields > this.#maxHeaders;
        if (this.#dropping) this.#tooMany++;
      }
      if (this.#dropping) return;
      if (this.#keptBytes + line.length > MAX_HEADER_BLOCK_BYTES) {
        this.#dropping = true;
        this.#tooBig++;
        return;
      }
      if (this.#keptLines >= MAX_HEADER_LINES) {
        this.#tooManyLines++;
        return;
      }
      if (++this.#fieldLines > MAX_FIELD_LINES) {
        this.#folded++;
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
    this.#keptLines++;
    this.push(line);
  }

  #endHeaders(line: Buffer) {
    this.#inHeaders = false;
    this.#reportDropped();
    this.push(line);
  }
}

/**
 * Measures the top-level header block of a message as it streams past (lines and bytes up to the blank line, or up
 * to the first line that is neither a field nor a continuation, as HeaderLimit reads it). Holds no more than the
 * first bytes of one line.
 */
export class HeaderMeter {
  lines = 0;
  bytes = 0;
  #done = false;
  #head = '';
  #lineBytes = 0;

  /** Whether the header block ended (so that further chunks need no look). */
  get done(): boolean {
    return this.#done;
  }

  /** Whether the block passed SMTP_MAX_HEADER_LINES or SMTP_MAX_HEADER_BYTES. */
  get absurd(): boolean {
    const open = !this.#done && this.#partOfBlock(this.#head) ? this.#lineBytes : 0;
    return this.lines > SMTP_MAX_HEADER_LINES || this.bytes + open > SMTP_MAX_HEADER_BYTES;
  }

  write(chunk: Buffer) {
    let start = 0;
    while (!this.#done && start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      const end = lf < 0 ? chunk.length : lf + 1;
      if (this.#head.length < 200) this.#head += chunk.toString('latin1', start, Math.min(end, start + 200));
      this.#lineBytes += end - start;
      start = end;
      if (lf < 0) break;
      this.#endLine();
    }
  }

  #partOfBlock(head: string): boolean {
    const first = head.charCodeAt(0);
    if (head === '\n' || head === '\r\n' || head === '') return false;
    return first === 0x20 || first === 0x09 || HEADER_NAME.test(head) || (this.lines === 0 && head.startsWith('From '));
  }

  #endLine() {
    if (this.#partOfBlock(this.#head)) {
      this.lines++;
      this.bytes += this.#lineBytes;
    } else this.#done = true;
    this.#head = '';
    this.#lineBytes = 0;
  }
}
