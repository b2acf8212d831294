/** English strings of Settings > System (the installation's health: database, Redis, job queues). */
export const systemHealthEn = {
  nav: 'System',
  heading: 'System health',
  intro:
    'The installation as this server sees it, refreshed every few seconds. Operators find the same on /readyz and /metrics.',
  ready: 'Ready',
  notReady: 'Not ready',
  degraded: 'Working without Redis: live updates reach only the people connected to this server until it returns.',
  checks: { database: 'Database', migrations: 'Migrations', redis: 'Redis' } as Record<string, string>,
  results: { ok: 'OK', error: 'Error', pending: 'Pending', unknown: 'Unknown', down: 'Down' } as Record<string, string>,
  queues: 'Job queues',
  queue: 'Queue',
  depth: 'Waiting',
  oldest: 'Oldest waiting',
  seconds: (s: number) =>
    s < 60 ? `${Math.round(s)} s` : s < 3600 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`,
  noQueues: 'No job queues on this server.',
  checkedAt: 'Checked at',
  adminsOnly: 'Only workspace owners and admins see the system health.',
  unreachable: 'Could not reach the server.',
};
