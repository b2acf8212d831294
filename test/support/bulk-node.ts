// A Filo node (as `node server/main.ts` runs it) with a bulk source of its own, for tests that kill and restart
// the process mid-send: source `bulk_message`, always active, one small message per row. With
// BULK_TEST_ENQUEUE=<sourceId>:<count>, it enqueues that many recipients (r<i>@crash.test) and starts them once.
import pg from 'pg';
import { loadConfig } from '../../server/config.ts';
import { startFilo } from '../../server/filo.ts';
import { createLogger } from '../../server/logger.ts';
import { inTenant, systemActor } from '../../server/tenancy.ts';
import type { ComposedMail } from '../../server/delivery/bulk/engine.ts';

const config = loadConfig();
const log = createLogger(config);
// Registered before the jobs start: after a restart, the pending dispatch job must find this source's handler,
// not the messaging bulks' own (same source name), whose scope would cancel rows it does not know.
const filo = await startFilo(config, log, {
  wire: (services) =>
    services.bulk.register({
      source: 'bulk_message',
      scope: async () => ({
        state: 'active',
        listIds: [],
        requireConfirmed: false,
        mailboxId: null,
        trackOpens: false,
        trackClicks: false,
      }),
      compose: async (_tenantId, _sourceId, rows) =>
        new Map(
          rows.map((r): [string, ComposedMail] => [
            r.id,
            {
              from: { address: 'news@crash.test' },
              subject: `Crash ${r.address}`,
              html: `<p>${r.address}</p>`,
              text: r.address,
            },
          ]),
        ),
    }),
});

const enqueue = process.env.BULK_TEST_ENQUEUE;
if (enqueue) {
  const [sourceId, count] = enqueue.split(':') as [string, string];
  const owner = new pg.Client({ connectionString: filo.databaseUrl });
  await owner.connect();
  const tenantId = (await owner.query<{ id: string }>(`select id from tenants where slug = 'demo'`)).rows[0]!.id;
  await owner.end();
  await inTenant(filo.orm, systemActor(tenantId), async (uow) => {
    await filo.services.bulk.enqueue(uow, {
      source: 'bulk_message',
      sourceId,
      select: {
        sql: `select null::uuid as contact_id, 'r' || i || '@crash.test' as address from generate_series(1, ?::int) i`,
        params: [Number(count)],
      },
    });
    await filo.services.bulk.start(uow, 'bulk_message', sourceId);
  });
  log.warn({ sourceId, count }, 'bulk test source enqueued');
}

for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.once(signal, () => {
    void filo.stop().finally(() => process.exit(0));
  });
