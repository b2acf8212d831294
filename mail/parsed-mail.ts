// The shape parseMail returns: plain data, it crosses the worker-thread boundary (mail-reader.worker.ts).
import type { Readable } from 'node:stream';

export interface ParsedAddress {
  /** Lower-cased. */
  address: string;
  /** '' when the header gave none. */
  name: string;
}

export interface ParsedAttachment {
  fileName: string;
  contentType: string;
  size: number;
  cid: string | null;
  inline: boolean;
  /** Whatever `storeAttachment` returned. */
  stored: unknown;
}

export interface ParsedMail {
  /** Message ids are given without angle brackets. */
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  subject: string;
  from: ParsedAddress | null;
  to: ParsedAddress[];
  cc: ParsedAddress[];
  replyTo: ParsedAddress[];
  date: Date | null;
  text: string | null;
  html: string | null;
  /** Top-level header fields: lower-cased name -> values as written (unfolded, not decoded), in order. */
  headers: Map<string, string[]>;
  attachments: ParsedAttachment[];
  /** Text of the first message/delivery-status part (RFC 3464), at most 64 KiB; null when there is none. */
  deliveryStatus: string | null;
  /** Header block of the first text/rfc822-headers or message/rfc822 part (a bounce's original message), or null. */
  returnedHeaders: string | null;
  /** Text of the first message/feedback-report part (RFC 5965, a spam complaint), at most 64 KiB; absent or null when none. */
  feedbackReport?: string | null;
  /** What could not be read, for the record: the rest of the message is still returned. */
  problems: string[];
  /** What the reader should be told (codes): `tnef` unpacked, `yenc` not decoded, `partial` a fragment. */
  notices: string[];
}

export interface StoreAttachment {
  (
    meta: { fileName: string; contentType: string; cid: string | null; inline: boolean },
    content: Readable,
  ): Promise<{ size: number; stored: unknown }>;
}

export interface ParseOptions {
  storeAttachment: StoreAttachment;
  /** Top-level header fields beyond this are dropped (and recorded in problems). Default 1000. */
  maxHeaders?: number;
  /** Text and HTML are each cut to this many UTF-8 bytes. Default 2 MiB. */
  maxTextBytes?: number;
}
