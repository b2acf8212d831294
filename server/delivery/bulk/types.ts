import type { EntityManager } from '@mikro-orm/postgresql';
import type { ConsentChannel } from '#contracts/consent';
import type { SendSource } from '#contracts/delivery';
import type { UnitOfWork } from '../../tenancy.ts';

/** One claimed recipient, as a source's handler sees it (plain SQL rows, never ORM entities: this is the hot path). */
export interface BulkRecipientRow {
  id: string;
  tenantId: string;
  contactId: string | null;
  address: string;
  variant: string | null;
  messageId: string;
  attempts: number;
  /** The row's own mailbox (a sequence prospect's pinned one); null: the source's. */
  mailboxId?: string | null;
}

/** A recipient's message as the source composed it (tracking links and pixel already in the HTML). */
export interface ComposedMail {
  from: { name?: string | null; address: string };
  replyTo?: string | null;
  subject: string;
  html: string;
  text: string;
  headers?: Record<string, string>;
}

/** What the engine needs to know of a source at each claim: its state, lists (for consent) and transport. */
export interface BulkScope {
  state: 'active' | 'paused' | 'cancelled';
  listIds: string[];
  requireConfirmed: boolean;
  mailboxId: string | null;
  trackOpens: boolean;
  trackClicks: boolean;
  /** The channel whose consent is checked per recipient (email unless said). */
  channel?: ConsentChannel;
  /** The source's own pace in messages a second (a bulk message's chosen rate); undefined: the engine's. */
  ratePerSecond?: number;
}

/** What a source that sends rows itself answers for one row. */
export interface Delivered {
  status: 'sent' | 'deferred' | 'failed';
  response: string;
  transport?: string;
}

/** A kind of bulk source (campaigns, sequences, bulk messages) registered into the engine by its own domain. */
export interface BulkHandler {
  source: SendSource;
  /** Read in the claim's transaction; null: the source is gone (its rows are cancelled). */
  scope(em: EntityManager, sourceId: string): Promise<BulkScope | null>;
  /** The messages of claimed rows, by row id (a row missing from the map fails). */
  compose(tenantId: string, sourceId: string, rows: BulkRecipientRow[]): Promise<Map<string, ComposedMail>>;
  /**
   * A source that is not mail (bulk messages) sends each row itself, at the scope's pace: `compose` and the SMTP
   * transports are then not used. Called again for a row whose worker died, so it must be idempotent by row id.
   */
  deliver?(tenantId: string, sourceId: string, row: BulkRecipientRow): Promise<Delivered>;
  /** In the transaction that marks these rows sent (e.g. timeline entries). */
  onSent?(uow: UnitOfWork, sourceId: string, rows: BulkRecipientRow[]): Promise<void>;
  /** Once, in the transaction that made the source's last row terminal. */
  onFinished?(uow: UnitOfWork, sourceId: string): Promise<void>;
}

/** What a dispatch job names: one source of one workspace. */
export interface BulkDispatchJob {
  tenantId: string;
  source: SendSource;
  sourceId: string;
}

export const BULK_DISPATCH_QUEUE = 'bulk.dispatch';

/** The engine's settings (from config: BULK_*). */
export interface BulkSettings {
  ratePerSecond: number;
  connections: number;
  /** Seconds before the first retry of a 4xx; doubles per attempt. */
  retryDelay: number;
  maxAttempts: number;
  /** Seconds a claimed row stays reserved; renewed while its worker is alive. */
  leaseSeconds: number;
}
