import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Where an outgoing message went: a bulk send (campaigns, sequences) or a 1:1 send (a reply, a new message). */
export type SendChannel = 'bulk' | 'direct';

/** What the SMTP gateway reports (mail-gateway/ knows this shape, never prom-client). */
export interface SmtpObserver {
  session(): void;
  accepted(): void;
  refused(code: number): void;
}

/** Scrape-time readings: each is asked when Prometheus scrapes, never on a timer. */
export interface LiveSources {
  sockets?: () => { connections: number; rooms: number };
  queues?: () => Promise<QueueReading[]>;
  pool?: () => Promise<{ total: number; idle: number; waiting: number } | null>;
}

export interface QueueReading {
  queue: string;
  /** Jobs due and waiting for a worker. */
  depth: number;
  /** Seconds the longest-waiting due job has been due (0 when none waits). */
  oldestSeconds: number;
}

/** SMTP reply codes are a small fixed set; anything else is folded so the label stays bounded. */
const smtpCode = (code: number) => (Number.isInteger(code) && code >= 400 && code < 600 ? String(code) : 'other');

/**
 * One Filo's metrics in a registry of its own (never prom-client's global one: tests run several Filos in one
 * process). No label carries an id, an address or a raw URL: every label value comes from a short fixed set.
 */
export class FiloMetrics {
  readonly registry = new Registry();
  readonly #live: LiveSources = {};

  readonly httpDuration = new Histogram({
    name: 'filo_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern (never the raw URL) and status class',
    labelNames: ['method', 'route', 'status_class'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly eventsPublished = new Counter({
    name: 'filo_events_published_total',
    help: 'Live events published to sockets, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly smtpSessions = new Counter({
    name: 'filo_smtp_sessions_total',
    help: 'SMTP connections opened to the inbound gateway',
    registers: [this.registry],
  });
  readonly smtpAccepted = new Counter({
    name: 'filo_smtp_messages_accepted_total',
    help: 'Messages the inbound gateway accepted (250 after commit)',
    registers: [this.registry],
  });
  readonly smtpRefused = new Counter({
    name: 'filo_smtp_refused_total',
    help: 'SMTP commands the inbound gateway refused, by reply code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly inboundLag = new Histogram({
    name: 'filo_inbound_processing_lag_seconds',
    help: 'From an inbound message accepted to it processed (threaded, stored, published)',
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    registers: [this.registry],
  });
  readonly credentialLookups = new Counter({
    name: 'filo_credential_lookups_total',
    help: 'Sessions and API tokens resolved for a request, by kind and source (cache or database)',
    labelNames: ['kind', 'source'] as const,
    registers: [this.registry],
  });
  readonly sends = new Counter({
    name: 'filo_outbound_sends_total',
    help: 'Outgoing messages by channel (bulk, direct) and result',
    labelNames: ['channel', 'result'] as const,
    registers: [this.registry],
  });

  constructor() {
    // Process metrics, event-loop lag among them (nodejs_eventloop_lag_seconds and its percentiles).
    collectDefaultMetrics({ register: this.registry });
    const live = this.#live;
    new Gauge({
      name: 'filo_socketio_connections',
      help: 'Socket.io connections on this node',
      registers: [this.registry],
      collect() {
        this.set(live.sockets?.().connections ?? 0);
      },
    });
    new Gauge({
      name: 'filo_socketio_rooms',
      help: 'Socket.io rooms on this node (besides each socket’s own)',
      registers: [this.registry],
      collect() {
        this.set(live.sockets?.().rooms ?? 0);
      },
    });
    const oldest = new Gauge({
      name: 'filo_job_queue_oldest_age_seconds',
      help: 'Seconds the longest-waiting due job of a queue has waited',
      labelNames: ['queue'] as const,
      registers: [this.registry],
    });
    new Gauge({
      name: 'filo_job_queue_depth',
      help: 'Jobs due and waiting for a worker, per queue',
      labelNames: ['queue'] as const,
      registers: [this.registry],
      // Both queue gauges come from one reading (cached by its source).
      async collect() {
        const readings = (await live.queues?.().catch(() => null)) ?? [];
        this.reset();
        oldest.reset();
        for (const r of readings) {
          this.set({ queue: r.queue }, r.depth);
          oldest.set({ queue: r.queue }, r.oldestSeconds);
        }
      },
    });
    new Gauge({
      name: 'filo_db_pool_connections',
      help: 'The application’s PostgreSQL pool: total, idle, and requests waiting for a connection',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        const pool = await live.pool?.().catch(() => null);
        this.reset();
        if (!pool) return;
        this.set({ state: 'total' }, pool.total);
        this.set({ state: 'idle' }, pool.idle);
        this.set({ state: 'waiting' }, pool.waiting);
      },
    });
  }

  /** Adds (or replaces) scrape-time sources as the parts of this process start. */
  watch(sources: LiveSources): void {
    Object.assign(this.#live, sources);
  }

  readonly smtp: SmtpObserver = {
    session: () => this.smtpSessions.inc(),
    accepted: () => this.smtpAccepted.inc(),
    refused: (code) => this.smtpRefused.inc({ code: smtpCode(code) }),
  };

  sent(channel: SendChannel, result: string): void {
    this.sends.inc({ channel, result });
  }

  published(type: string): void {
    this.eventsPublished.inc({ type });
  }

  /** The job queues' depths and oldest ages (cached by their source), or none where this process runs no jobs. */
  async queues(): Promise<QueueReading[]> {
    return (await this.#live.queues?.()) ?? [];
  }

  /** The text a Prometheus scrape reads. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  close(): void {
    this.registry.clear();
  }
}
