import { stringify } from 'csv-stringify';
import { auditPage, auditQuery, retentionPatch, retentionSettings, type AuditEntry } from '#contracts/audit';
import { z } from 'zod';
import { ApiRouter } from '../http/routes.ts';
import { parseBody, parseQuery } from '../http/validate.ts';
import { actorOf } from '../auth/auth.middleware.ts';
import { requireRole, requireWrite } from '../tenancy.ts';
import type { Services } from '../services.ts';

const chainReport = z.object({
  ok: z.boolean(),
  entries: z.number().int(),
  brokenSeq: z.number().int().optional(),
  reason: z.string().optional(),
});

// A cell a spreadsheet would run as a formula is made inert with an apostrophe (OWASP's advice for CSV injection).
const inert = (value: unknown): string => {
  const text = value == null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
};
const COLUMNS: (keyof AuditEntry)[] = [
  'seq',
  'at',
  'actorName',
  'actorId',
  'actorKind',
  'ip',
  'userAgent',
  'action',
  'targetType',
  'targetId',
  'summary',
  'before',
  'after',
];

/** The audit log (owners and admins), its CSV export (itself audited), and the workspace's retention settings. */
export function auditRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('');

  r.get(
    '/audit',
    { summary: 'The audit log, newest first (owners and admins)', query: auditQuery, response: auditPage },
    async (req, res) => {
      const actor = actorOf(req);
      requireRole(actor, 'owner', 'admin');
      res.json(await s.audit.list(actor, parseQuery(auditQuery, req)));
    },
  );

  r.get(
    '/audit/export',
    { summary: 'The filtered audit log as CSV (owners and admins)', query: auditQuery, response: { file: 'text/csv' } },
    async (req, res) => {
      const actor = actorOf(req);
      requireRole(actor, 'owner', 'admin');
      const q = parseQuery(auditQuery, req);
      const filters = Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined));
      await s.audit.log(actor, {
        action: 'export.audit_csv',
        targetType: 'audit_log',
        summary: 'Exported the audit log as CSV',
        after: { filters },
      });
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.attachment('audit-log.csv');
      const csv = stringify({ header: true, columns: COLUMNS, bom: true });
      csv.pipe(res);
      for await (const entry of s.audit.all(actor, q)) {
        if (!csv.write(COLUMNS.map((c) => inert(entry[c])))) await new Promise((done) => csv.once('drain', done));
      }
      csv.end();
    },
  );

  r.get(
    '/audit/verify',
    { summary: 'Check this workspace’s audit chain (owners and admins)', response: chainReport },
    async (req, res) => {
      const { tenantId: _t, ...report } = await s.audit.verify(actorOf(req));
      res.json(report);
    },
  );

  r.get(
    '/retention',
    {
      summary: 'How long this workspace keeps raw mail, tracking events and audit entries',
      response: retentionSettings,
    },
    async (req, res) => {
      res.json(await s.retention.get(actorOf(req)));
    },
  );
  r.patch(
    '/retention',
    { summary: 'Change the retention periods (owners and admins)', body: retentionPatch, response: retentionSettings },
    async (req, res) => {
      const actor = actorOf(req);
      requireWrite(actor);
      requireRole(actor, 'owner', 'admin');
      res.json(await s.retention.update(actor, parseBody(retentionPatch, req)));
    },
  );

  return r;
}
