import { createServer, type Server as HttpServer } from 'node:http';
import pg from 'pg';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { createApp, type Readiness } from './app.ts';
import type { RouteInfo } from './http/routes.ts';
import { createServices, type Services } from './services.ts';
import { startJobs, type Jobs } from './jobs/jobs.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../db/embedded.ts';
import { initORM, migrate, pendingMigrations, type MikroORM } from '../db/orm.ts';
import { seedDemoWorkspace, type DemoWorkspace } from '../db/seeders/demo.seeder.ts';
import { seedDemoCrm } from '../db/seeders/demo-crm.ts';
import { ensureAppRole } from '../db/app-role.ts';
import { createRealtime, createRedisEmitter, type Realtime } from '../realtime/realtime.server.ts';
import { socketPublisher } from '../realtime/publisher.ts';
import { socketAccess } from '../realtime/access.ts';
import { notifyAccess, type AccessNotifier } from './auth/access-notify.ts';
import type { RealtimePort } from '../realtime/ports.ts';
import { sessionToken } from './auth/auth.middleware.ts';
import type { AccessPort } from './auth/access.ts';
import { startSmtpGateway, type SmtpGateway } from '../mail-gateway/smtp.server.ts';
import { InboundStore } from '../mail-gateway/inbound-store.ts';
import { FiloMetrics } from './ops/metrics/metrics.ts';
import { countedPublisher, instrumentServices } from './ops/metrics/instrument.ts';
import { poolOf, queuesOf, socketsOf } from './ops/metrics/sources.ts';
import { startMetricsListener } from './ops/metrics/metrics.http.ts';
import { HotReads } from './db-hot/hot-reads.ts';

export interface Filo {
  config: Config;
  orm: MikroORM;
  services: Services;
  databaseUrl: string;
  /** Bound ports (useful when PORT / SMTP_PORT is 0); undefined when that role is off. */
  httpPort: number | undefined;
  smtpPort: number | undefined;
  realtime: Realtime | undefined;
  jobs: Jobs | undefined;
  /** Every API route the web role registered (method + full path). */
  routes: RouteInfo[];
  /** This process's metrics (its own registry), and the 127.0.0.1 port serving them when METRICS_PORT is set. */
  metrics: FiloMetrics;
  metricsPort: number | undefined;
  stop(): Promise<void>;
}

// Any constant works: it only has to be the same for every Filo process sharing the database.
const MIGRATION_LOCK = 7_310_2525;
/** How long an idle HTTP connection is kept open (Keep-Alive: timeout=65): longer than the proxies' 60 s. */
const KEEP_ALIVE_MS = 65_000;

/**
 * As the schema owner, serialised across nodes starting at once: migrations, the first-run seed, and the
 * application role. Returns the URL the application connects with from then on, and the demo workspace when
 * this start seeded it.
 */
async function prepareDatabase(
  databaseUrl: string,
  config: Config,
  log: Logger,
): Promise<{ appUrl: string; demo: DemoWorkspace | null }> {
  const lock = new pg.Client({ connectionString: databaseUrl });
  await lock.connect();
  const owner = await initORM(databaseUrl, log);
  try {
    await lock.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await migrate(owner);
    if (applied.length) log.info({ migrations: applied }, 'migrations applied');
    const demo = config.env === 'production' ? null : await seedDemoWorkspace(owner.em.fork());
    if (demo) log.info('demo workspace seeded: sign in as demo@filo.local / filo-demo');
    return { appUrl: await ensureAppRole(lock, databaseUrl, config.secretKey), demo };
  } finally {
    await owner.close(true);
    await lock.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await lock.end();
  }
}

/**
 * Ready while the database answers and is migrated. Redis is reported (`down`) but does not make a node unready:
 * without it a node still serves HTTP and its own sockets, and a load balancer dropping every node at once would
 * turn a shared Redis outage into a full one (docs/operations.md, "Degraded modes").
 */
export function readiness(orm: MikroORM, redis?: () => 'ok' | 'down' | undefined): Readiness {
  return {
    async check() {
      const checks: Record<string, string> = { database: 'error', migrations: 'unknown' };
      const redisState = redis?.();
      if (redisState) checks.redis = redisState;
      try {
        await orm.em.getConnection().execute('select 1');
        checks.database = 'ok';
        checks.migrations = (await pendingMigrations(orm)).length === 0 ? 'ok' : 'pending';
      } catch {
        // Reported through the checks: a 503, never a 500.
      }
      return { ready: checks.database === 'ok' && checks.migrations === 'ok', checks };
    },
  };
}

function listen(server: HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

function closeHttp(server: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    // In-flight requests get a few seconds to finish before their connections are cut.
    setTimeout(() => server.closeAllConnections(), 4_000).unref();
  });
}

/** What sockets may ask of the services (realtime depends on this port, not on `Services`). */
export function realtimePort(services: Services): RealtimePort {
  return {
    credentials: services.credentials,
    identify: (credential) =>
      'token' in credential
        ? services.tokens.resolve(credential.token)
        : services.sessions.resolve(sessionToken(credential.cookie)),
    async currentActor(data) {
      const now =
        data.via === 'token'
          ? await services.tokens.current(data.tenantId, data.sessionId)
          : await services.sessions.current(data.sessionId);
      if (!now) return null;
      const { tenantId, userId, scope } = data;
      return { tenantId, userId, userName: now.userName, role: now.role, scope };
    },
    visibleMailboxes: async (actor) => (await services.mailboxes.list(actor)).map((m) => m.id),
    // A conversation is seen through its mailbox: its service decides, and its timeline is its own activities.
    activitiesOf: (actor, type, id, after, limit) =>
      type === 'conversation'
        ? services.conversations.timeline(actor, id, after, limit)
        : services.activities.timeline(actor, { entityType: type, entityId: id, after, limit, ascending: true }),
    lastSeq: (actor) => services.activities.lastSeq(actor),
  };
}

/** Access changes as PostgreSQL NOTIFYs, sent through the application's pool (see server/auth/access-notify.ts). */
function accessNotifier(
  orm: MikroORM,
  databaseUrl: string,
  log: Logger,
  opts: Pick<Parameters<typeof notifyAccess>[0], 'heard' | 'onState'>,
): Promise<AccessNotifier> {
  const notify = (payload: string) => orm.em.getConnection().execute(`select pg_notify('filo_access', ?)`, [payload]);
  return notifyAccess({ databaseUrl, log, notify, ...opts });
}

const both = (a: AccessPort, b: AccessPort): AccessPort => ({
  changed(change) {
    a.changed(change);
    b.changed(change);
  },
});

/** The demo CRM, written through the services as the demo team; a failure leaves a partial demo, not a dead start. */
async function seedDemoData(services: Services, orm: MikroORM, demo: DemoWorkspace, log: Logger): Promise<void> {
  try {
    const owner = await services.team.actorFor(demo.tenantId, demo.ownerId);
    if (!owner) throw new Error('the demo owner is not a member of the demo workspace');
    log.info(await seedDemoCrm(services, owner, new Date(), orm), 'demo CRM data seeded');
  } catch (err) {
    log.error({ err }, 'demo CRM data only partly seeded');
  }
}

/** Starts every part this process's ROLES ask for; `stop()` undoes it in reverse, finishing in-flight work. */
/** `wire`: runs once the services exist, before any job runs (a test node's own bulk source, registered in time). */
export async function startFilo(
  config: Config,
  log: Logger,
  opts: { wire?: (services: Services) => void } = {},
): Promise<Filo> {
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((err: unknown) => log.error({ err }, 'error while stopping'));
    }
  };
  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const embedded: EmbeddedDatabase = await startEmbeddedPostgres(config.dataDir, log);
      cleanups.push(() => embedded.stop());
      databaseUrl = embedded.url;
    }
    const { appUrl, demo } = await prepareDatabase(databaseUrl, config, log);
    const orm = await initORM(appUrl, log);
    cleanups.push(() => orm.close(true));
    // Same role as the ORM (row-level security on); closed after the HTTP server, before the ORM.
    const hot = new HotReads(appUrl, { max: config.hotReads.poolSize, log });
    cleanups.push(() => hot.close());
    const services = createServices(orm, config, log, hot);
    opts.wire?.(services);
    cleanups.push(() => services.tokens.close());
    const metrics = new FiloMetrics();
    cleanups.push(async () => metrics.close());
    instrumentServices(metrics, services);
    metrics.watch({ pool: poolOf(orm) });
    // Only the start whose marker row seeded the workspace gets here with `demo`, so this runs once per
    // installation (a crash midway leaves a partial demo for good). Tests (which count rows) and production get
    // the users at most, never the CRM data.
    if (demo && config.env === 'development') await seedDemoData(services, orm, demo, log);

    let jobs: Jobs | undefined;
    // Web nodes enqueue jobs; only worker nodes run them.
    if (config.roles.has('worker') || config.roles.has('web') || config.roles.has('smtp')) {
      jobs = await startJobs({ databaseUrl, services, config, log, work: config.roles.has('worker') });
      cleanups.push(() => jobs!.stop());
      metrics.watch({ queues: queuesOf(jobs.boss) });
    }

    let httpPort: number | undefined;
    let routes: RouteInfo[] = [];
    let realtime: Realtime | undefined;
    if (config.roles.has('web')) {
      const app = createApp({
        config,
        log,
        orm,
        services,
        metrics,
        readiness: readiness(orm, () => realtime?.redis?.()),
      });
      routes = app.locals.routes as RouteInfo[];
      const server = createServer(app);
      // An idle kept-alive connection is closed by its client or by the proxy in front (60 s at most of the usual
      // ones), not here first: a server that closes at Node's default 5 s races a client sending its next request
      // on that connection, which then fails with ECONNRESET (seen from undici on a loaded machine).
      server.keepAliveTimeout = KEEP_ALIVE_MS;
      realtime = await createRealtime(server, {
        port: realtimePort(services),
        log,
        redisUrl: config.redisUrl,
        allowedOrigin: new URL(config.publicUrl).origin,
        onRedisState: () => services.access.reset(),
      });
      services.publisher.target = countedPublisher(socketPublisher(realtime.io), metrics);
      metrics.watch({ sockets: socketsOf(realtime.io) });
      const sockets = socketAccess(realtime.io, realtimePort(services), log, {
        clustered: !!config.redisUrl,
        heard: (change) => services.access.heard(change),
      });
      services.access.target = sockets;
      if (config.redisUrl) {
        const redisUp = realtime.redis!;
        services.access.channel(() => redisUp() === 'ok');
      } else {
        // Nothing stops two web nodes sharing PostgreSQL without Redis: their changes travel as NOTIFYs.
        const notifier = await accessNotifier(orm, databaseUrl, log, {
          heard: sockets.heard,
          onState: () => services.access.reset(),
        });
        cleanups.push(() => notifier.close());
        services.access.channel(notifier.up);
        services.access.target = both(sockets, notifier);
      }
      httpPort = await listen(server, config.port, config.host);
      cleanups.push(() => closeHttp(server));
      cleanups.push(() => {
        // Writes still finishing must not emit through a closing adapter.
        services.publisher.target = undefined;
        services.access.target = undefined;
        return realtime!.close();
      });
      log.info({ port: httpPort, url: config.publicUrl }, 'HTTP and Socket.io listening');
    }

    if (!config.roles.has('web')) {
      if (config.redisUrl) {
        const emitter = await createRedisEmitter(config.redisUrl, log);
        services.publisher.target = countedPublisher(socketPublisher(emitter.io), metrics);
        services.access.target = socketAccess(emitter.io, realtimePort(services), log, { clustered: true });
        cleanups.push(() => {
          services.publisher.target = undefined;
          services.access.target = undefined;
          return emitter.close();
        });
      } else {
        log.warn('no web role and no REDIS_URL: the live events of this node’s work reach no browser');
        // Its access changes (a member removed by a job) still reach the web nodes' credential caches.
        const notifier = await accessNotifier(orm, databaseUrl, log, {});
        cleanups.push(() => notifier.close());
        services.access.target = notifier;
      }
    }

    let smtp: SmtpGateway | undefined;
    if (config.roles.has('smtp')) {
      // The gateway commits each accepted message and its job in one transaction, as the schema owner (like
      // pg-boss, whose tables the application role cannot write); it sets the tenant for row-level security.
      const store = new InboundStore(databaseUrl, jobs!.boss);
      cleanups.push(() => store.close());
      smtp = await startSmtpGateway({
        port: config.smtpPort,
        host: config.host,
        log,
        limits: config.smtp,
        tls: config.smtp.tls,
        store,
        spool: services.spool,
        parseAddress: (address) => services.mailboxes.parseInbound(address),
        bulkTokens: services.bulkTokens,
        credentials: {
          allows: (ip) => services.credentials.allows(ip),
          failed: (ip) => services.credentials.failed(ip),
        },
        observer: metrics.smtp,
      });
      cleanups.push(() => smtp!.close());
    }

    let metricsPort: number | undefined;
    if (config.metrics.port !== undefined) {
      const listener = await startMetricsListener(metrics, config.metrics.port);
      cleanups.push(() => listener.close());
      metricsPort = listener.port;
    }

    return {
      config,
      orm,
      services,
      databaseUrl,
      httpPort,
      smtpPort: smtp?.port,
      realtime,
      jobs,
      routes,
      metrics,
      metricsPort,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
