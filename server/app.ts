import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type Express } from 'express';
import type { Logger } from './logger.ts';
import type { Config } from './config.ts';
import type { Services } from './services.ts';
import { authRoutes } from './auth/auth.routes.ts';
import { authenticate, readOnlyTokensRead, sameOriginWrites, throttleLinks } from './auth/auth.middleware.ts';
import { tokenGrants } from './auth/route-families.ts';
import { crmRoutes } from './crm/crm.routes.ts';
import { teamRoutes } from './team/team.routes.ts';
import { inboxRoutes } from './inbox/inbox.routes.ts';
import { meetingRoutes } from './meetings/meetings.routes.ts';
import { devRoutes, outboundRoutes } from './outbound/outbound.routes.ts';
import { TRACKING_ROUTES, trackingRoutes } from './outbound/tracking.service.ts';
import { PUBLIC_PAGE_ROUTES, publicPageRoutes } from './newsletters/public.routes.ts';
import { BULK_TRACKING_ROUTES, bulkTrackingRoutes } from './delivery/bulk/tracking.routes.ts';
import { rulesRoutes } from './inbox/rules.routes.ts';
import { blocklistRoutes } from './inbox/blocklist.routes.ts';
import { storageRoutes } from './storage/storage.routes.ts';
import { accountsRoutes } from './accounts/accounts.routes.ts';
import { campaignsRoutes } from './newsletters/campaigns.routes.ts';
import { consentRoutes } from './consent/consent.routes.ts';
import { reportRoutes } from './newsletters/report.routes.ts';
import { openApiRoutes } from './http/openapi.ts';
import { listsRoutes } from './newsletters/lists.routes.ts';
import { passwordResetRoutes } from './auth/password-reset.routes.ts';
import { notifyPrefsRoutes } from './notify/prefs.routes.ts';
import { callsRoutes } from './calls/calls.routes.ts';
import { homeRoutes } from './home/home.routes.ts';
import { tasksRoutes } from './tasks/tasks.routes.ts';
import { workflowsRoutes } from './workflows/workflows.routes.ts';
import { linkedRecordsRoutes } from './linked-records/linked-records.routes.ts';
import { preflightRoutes } from './sequences/preflight/preflight.routes.ts';
import { profileRoutes } from './auth/profile.routes.ts';
import { workspaceRoutes } from './team/workspace.routes.ts';
import { sequencesRoutes } from './sequences/sequences.routes.ts';
import { sequenceReputationRoutes } from './sequences/replies/reputation.routes.ts';
import { backupsRoutes } from './ops/backup/backups.routes.ts';
import type { MikroORM } from '../db/orm.ts';
import { BackupsService } from './ops/backup/backups.service.ts';
import { auditRoutes } from './audit/audit.routes.ts';
import { messagingRoutes } from './messaging/messaging.routes.ts';
import { bulkMessagesRoutes } from './messaging/bulk/bulk-messages.routes.ts';
import { messagingBotRoutes } from './messaging/bot/bot.routes.ts';
import { MESSAGING_WEBHOOK_ROUTES, messagingWebhookRoutes } from './messaging/webhooks.routes.ts';
import { webhooksRoutes } from './webhooks/webhooks.routes.ts';
import { auditOrigin } from './audit/context.ts';
import { errorHandler, unknownApiRoute } from './http/errors.ts';
import { jsonOrMultipartBodies } from './http/body.ts';
import { requestLog } from './http/request-log.ts';
import { spaPage } from './http/csp.ts';
import type { FiloMetrics } from './ops/metrics/metrics.ts';
import { httpMetrics, metricsEndpoint } from './ops/metrics/metrics.http.ts';
import { systemRoutes } from './ops/metrics/system.routes.ts';
import { OperatorCheck } from './ops/operator.ts';

export const WEB_BUILD_DIR = path.resolve(import.meta.dirname, '../web/build');

export interface Readiness {
  check(): Promise<{ ready: boolean; checks: Record<string, string> }>;
}

export function createApp(deps: {
  config: Config;
  log: Logger;
  orm: MikroORM;
  services: Services;
  readiness: Readiness;
  metrics?: FiloMetrics;
}): Express {
  const { config, log, services } = deps;
  const app = express();
  app.disable('x-powered-by');
  // No ETag on bodies sent from memory: the API's answers are not to be cached (below), and hashing each one cost
  // a large page ~a tenth of its CPU for nothing. Static files and pictures keep their own validators.
  app.set('etag', false);
  app.set('trust proxy', 'loopback, linklocal, uniquelocal');

  requestLog(app, log, { ignore: (req) => req.url === '/healthz' });
  if (deps.metrics) app.use(httpMetrics(deps.metrics));
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('Content-Security-Policy', "frame-ancestors 'self'");
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const { ready, checks } = await deps.readiness.check();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });

  if (deps.metrics) app.get('/metrics', metricsEndpoint(deps.metrics, config.metrics.token, services.credentials));

  // Messaging providers' webhooks: before the session API, the provider's signature is the key.
  app.use(
    messagingWebhookRoutes({
      inbound: services.messagingInbound,
      credentials: services.credentials,
      publicUrl: config.publicUrl,
    }),
  );
  const api = express.Router();
  // A workspace's data stays out of browser and proxy caches (a shared computer, the back button after signing out);
  // an answer that may be kept says so itself (pictures: private, a day).
  api.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  api.use(jsonOrMultipartBodies);
  api.use(express.json({ limit: '1mb' }));
  api.use(authenticate(services.sessions, services.tokens, services.credentials));
  api.use(readOnlyTokensRead);
  // A token's rate limit, and its grants on the family of the route (server/auth/route-families.ts).
  api.use(tokenGrants(services.tokens));
  api.use(sameOriginWrites(config.publicUrl));
  api.use(throttleLinks(services.credentials));
  api.use(auditOrigin(services.audit));
  const operator = new OperatorCheck(deps.orm, config.operatorEmails);
  const routers = [
    authRoutes(services, { secureCookies: config.publicUrl.startsWith('https:') }),
    crmRoutes(services),
    teamRoutes(services),
    inboxRoutes(services),
    outboundRoutes(services),
    rulesRoutes(services),
    blocklistRoutes(services),
    devRoutes(services),
    meetingRoutes(services),
    storageRoutes(services),
    accountsRoutes(services),
    listsRoutes(services),
    campaignsRoutes(services),
    // before the sequences router, whose `/:id` would take "reputation" for an id
    sequenceReputationRoutes(services),
    // before the sequences' own `/:id` routes
    preflightRoutes(services),
    consentRoutes(services),
    reportRoutes(services),
    passwordResetRoutes(services, { secureCookies: config.publicUrl.startsWith('https:') }),
    notifyPrefsRoutes(services.notifyPrefs),
    callsRoutes(services),
    homeRoutes(services),
    tasksRoutes(services),
    workflowsRoutes(services),
    profileRoutes(services),
    workspaceRoutes(services),
    sequencesRoutes(services),
    backupsRoutes(new BackupsService(config.dataDir, config.backup, operator)),
    ...(deps.metrics ? [systemRoutes(deps.readiness, deps.metrics, operator)] : []),
    auditRoutes(services),
    messagingRoutes(services),
    webhooksRoutes(services),
    bulkMessagesRoutes(services),
    messagingBotRoutes(services),
    linkedRecordsRoutes(services),
    openApiRoutes(() => app.locals.routes, config.publicUrl),
  ];
  for (const r of routers) api.use(r.mount || '/', r.router);
  api.use(unknownApiRoute);
  app.use('/api', api);
  app.locals.routes = [...routers.flatMap((r) => r.routes), ...TRACKING_ROUTES, ...PUBLIC_PAGE_ROUTES];
  // Open pixel and click redirect of tracked mail: public, the signed token is the key.
  app.use(trackingRoutes(services.tracking));
  // Newsletter subscribe form, double opt-in confirmation, one-click unsubscribe and preference center: public.
  app.use(publicPageRoutes(services.publicPages, services.credentials));
  // Opens and clicks of bulk mail (campaigns, sequences): public, the signed token is the key.
  app.locals.routes.push(...BULK_TRACKING_ROUTES, ...MESSAGING_WEBHOOK_ROUTES);
  app.use(bulkTrackingRoutes(services.bulkTracking, services.credentials));

  if (existsSync(path.join(WEB_BUILD_DIR, 'index.html'))) {
    const indexPage = spaPage(path.join(WEB_BUILD_DIR, 'index.html'), { jitsiBaseUrl: config.jitsi.baseUrl });
    app.use(
      express.static(WEB_BUILD_DIR, {
        index: false,
        setHeaders: (res, file) => {
          if (file.includes(`${path.sep}_app${path.sep}immutable${path.sep}`))
            res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
        },
      }),
    );
    // Single-page app: every other GET that asks for a page gets index.html and the client router takes over.
    app.get('/{*path}', (req, res, next) => {
      if (!req.accepts('html')) return next();
      const { html, csp } = indexPage();
      res.setHeader('Cache-Control', 'no-cache');
      res.setHeader('Content-Security-Policy', csp);
      res.type('html').send(html);
    });
  } else {
    log.warn({ dir: WEB_BUILD_DIR }, 'web app not built: run `npm run build` (npm start does it)');
  }

  app.use(errorHandler);
  return app;
}
