import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { entities } from './entities/index.ts';
import { migrationsList } from './migrations/index.ts';
import type { Logger } from '../server/logger.ts';

export type { MikroORM };

/** Entities whose rows belong to one tenant: the `tenant` filter scopes every ORM query on them. */
const TENANT_ENTITIES = [
  'Company',
  'Contact',
  'Deal',
  'Note',
  'Activity',
  'CustomField',
  'Document',
  'Notification',
  'ApiToken',
  'Invitation',
  'Import',
  'SavedView',
  'Mailbox',
  'InboundMessage',
  'Conversation',
  'ConversationRead',
  'Message',
  'EmailTemplate',
  'Signature',
  'OutboundDelivery',
  'AutoReplyRule',
  'AutoReplySent',
  'VideoMeeting',
  'MeetingAttendee',
  'MeetingRecording',
  'CalendarFeed',
  'TrackingEvent',
];

export function ormOptions(clientUrl: string, log?: Logger): Options {
  // `?host=/dir` (a Unix socket: the embedded server's URL) is what `pg` goes by, but MikroORM takes the host from
  // the URL's authority and ignores the query: it has to be handed over as `host`.
  const socketDir = new URL(clientUrl).searchParams.get('host');
  return {
    clientUrl,
    ...(socketDir ? { host: socketDir } : {}),
    entities,
    filters: {
      tenant: { cond: (args) => ({ tenantId: args.tenantId }), entity: TENANT_ENTITIES, default: true },
    },
    extensions: [Migrator],
    migrations: { migrationsList, transactional: true, allOrNothing: true, snapshot: false, silent: true },
    // Functions such as filo_session_lookup() are written by migrations, not mirrored in entity metadata.
    schemaGenerator: { ignoreRoutines: true, ignorePolicies: true },
    pool: { min: 0, max: 20 },
    // A request never waits more than 5 s for a connection (PostgreSQL down, the pool exhausted): it fails with a 503.
    driverOptions: { connectionTimeoutMillis: 5_000, keepAlive: true },
    debug: false,
    ...(log ? { logger: (message: string) => log.debug({ component: 'orm' }, message) } : {}),
    // The schema is owned by committed migrations, never by the entity metadata at run time.
    ensureDatabase: false,
  };
}

export async function initORM(clientUrl: string, log?: Logger): Promise<MikroORM> {
  return MikroORM.init(ormOptions(clientUrl, log));
}

/** Applies every committed migration that has not run yet; returns their names. */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const done = await orm.migrator.up();
  return done.map((m) => m.name);
}

export async function pendingMigrations(orm: MikroORM): Promise<string[]> {
  return (await orm.migrator.getPending()).map((m) => m.name);
}
