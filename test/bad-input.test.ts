import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { RECORD_TYPES } from '#contracts/common';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

let filo: TestFilo;
let demo: ApiClient;

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  // Custom fields of every type, with values, so that `cf.<name>=` filters compare against real JSON.
  const fields = [
    ['note', 'text'],
    ['amount', 'number'],
    ['flag', 'boolean'],
    ['when', 'date'],
  ] as const;
  for (const entityType of RECORD_TYPES)
    for (const [fieldName, fieldType] of fields)
      await demo.json('POST', '/api/crm/custom-fields', { entityType, fieldName, fieldLabel: fieldName, fieldType });
  const customFields = { note: 'hello', amount: 12.5, flag: true, when: '2026-01-01' };
  const company = await demo.json('POST', '/api/crm/companies', { name: 'Cf Srl', type: 'client', customFields });
  await demo.json('POST', '/api/crm/contacts', { companyId: company.id, firstName: 'C', lastName: 'F', customFields });
  await demo.json('POST', '/api/crm/deals', { companyId: company.id, title: 'Cf deal', customFields });
});
afterAll(() => filo?.close());

/** What a refusal of bad input must look like: 4xx, a JSON error with a code, no stack trace, no internals. */
async function refusal(res: Response): Promise<string> {
  const text = await res.text();
  let code = 'not json';
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? 'no code';
  } catch {
    /* reported below */
  }
  const leaks = /\bat .+\.(ts|js):\d+|node_modules|Error:|TypeError|stack/i.test(text);
  return `${res.status >= 400 && res.status < 500 ? '4xx' : res.status} ${code === 'not json' || code === 'no code' ? code : 'code'}${leaks ? ' leaks' : ''}`;
}

// Query strings that each list route must refuse (or ignore) without a 500: objects, arrays, custom-field
// filters of every shape, numbers past every limit, broken escapes.
const BAD_QUERIES = [
  'cursor[a]=1',
  'cursor[]=1&cursor[]=2',
  'cursor=a&cursor=b',
  'cursor=%7B%22a%22%3A1%7D',
  'cursor=eyJhIjoxfQ',
  ...[
    [{ a: 1 }, 'x'],
    [{ $gt: 1 }, { $ne: null }],
    [['x'], ['y']],
    ['not-a-date', 'not-a-uuid'],
    [null, null],
    [1e308, -1e308],
    [1, 2, 3, 4, 5],
    'x',
    { name: 'x', id: 'y' },
  ].map((value) => `cursor=${Buffer.from(JSON.stringify(value)).toString('base64url')}`),
  'cursor=' + Buffer.from('2026-01-01T00:00:00.000Z|not-a-uuid').toString('base64url'),
  'cursor=' + 'x'.repeat(400),
  'cf.x=true',
  'cf.note=true',
  'cf.note=12.5',
  'cf.note=-1',
  'cf.amount=true',
  'cf.amount=abc',
  'cf.flag=abc',
  'cf.flag=12',
  'cf.when=true',
  'cf.when=12',
  'cf.anything=1e400',
  'cf.name[a]=1',
  'cf.=1',
  'cf.__proto__=1',
  'limit=1e400',
  'limit=-1',
  'limit=99999999999999999999999',
  'limit[a]=1',
  'limit=NaN',
  'sort[a]=1',
  'sort=__proto__',
  'q[a]=1',
  'q=a&q=b',
  'q=%E0%A4%A',
  'unread[a]=1',
  'entityType[a]=1&entityId=1',
  'entityType=company&entityId[a]=1',
  'entityType=company&entityId=' + '9'.repeat(40),
  'since=1e400',
  'before[a]=1',
  'status[a]=1',
  'mailboxId[a]=1',
  'from=not-a-date&to[a]=1',
  '__proto__[a]=1',
  'constructor[prototype][a]=1',
];

type Def = {
  type: string;
  format?: string;
  checks?: { _zod: { def: { format?: string } } }[];
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  in?: z.ZodType;
  left?: z.ZodType;
  right?: z.ZodType;
};
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def;

/** A schema that takes only ids (8-4-4-4-12 hex), or fixed words beside them ('me', null). */
function takesIds(s: z.ZodType): boolean {
  const d = defOf(s);
  switch (d.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'readonly':
    case 'prefault':
    case 'catch':
      return takesIds(d.innerType!);
    case 'array':
      return takesIds(d.element!);
    case 'union':
      return d.options!.every(takesIds);
    case 'pipe':
      return takesIds(d.in!);
    case 'literal':
    case 'enum':
    case 'null':
      return true;
    case 'string':
      return [d.format, ...(d.checks ?? []).map((c) => c._zod.def.format)].some((f) => f === 'guid' || f === 'uuid');
    default:
      return false;
  }
}

/** Paths of fields named like ids (`id`, `…Id`, `…Ids`) whose schema would take any string. */
function uncheckedIds(s: z.ZodType, path: string, out: string[], seen = new Set<z.ZodType>()): void {
  if (seen.has(s)) return;
  seen.add(s);
  const d = defOf(s);
  if (d.type === 'object') {
    for (const [key, value] of Object.entries(d.shape!)) {
      if (/^(id|.+Id|.+Ids)$/.test(key) && !takesIds(value)) out.push(`${path}.${key}`);
      uncheckedIds(value, `${path}.${key}`, out, seen);
    }
  } else if (d.innerType) uncheckedIds(d.innerType, path, out, seen);
  else if (d.element) uncheckedIds(d.element, `${path}[]`, out, seen);
  else if (d.options) for (const option of d.options) uncheckedIds(option, path, out, seen);
  else if (d.in) uncheckedIds(d.in, path, out, seen);
  else if (d.left) {
    uncheckedIds(d.left, path, out, seen);
    uncheckedIds(d.right!, path, out, seen);
  }
}

// Named like ids, but not ids of rows: a starter template's name, the editor's own block keys.
const NOT_ROW_IDS = [
  /^post \/api\/newsletters\/campaigns body\.templateId$/,
  /\.blocks\[\]\.id$/,
  // a provider's own id of an approved template (Twilio's Content SID, HX…)
  /\/api\/messaging\/templates.* body\.providerTemplateId$/,
  // a chatbot rule's own key within its account's rules (the editor names it; no row behind it)
  /\/api\/messaging\/accounts\/:id\/bot body\.rules\[\]\.id$/,
];

describe('bad input is a 4xx with a code, never a 500 or a stack trace', () => {
  it('every id a body or a query names is checked as an id before any query runs on it', () => {
    const found: string[] = [];
    for (const route of filo.routes) {
      if (route.spec.body) uncheckedIds(route.spec.body, `${route.method} ${route.path} body`, found);
      if (route.spec.query) uncheckedIds(route.spec.query, `${route.method} ${route.path} query`, found);
    }
    expect(found.filter((path) => !NOT_ROW_IDS.some((re) => re.test(path)))).toEqual([]);
  });

  it('on every list route (GET without a path id), for every malformed query', async () => {
    const lists = filo.routes.filter((r) => r.method === 'get' && r.path.startsWith('/api/') && !r.path.includes(':'));
    expect(lists.length).toBeGreaterThanOrEqual(15);
    const requests = lists.flatMap((route) => BAD_QUERIES.map((query) => `${route.path}?${query}`));
    const outcomes: (string | null)[] = new Array(requests.length).fill(null);
    // Several thousand requests, a few at a time: one at a time, the file spent most of its minutes waiting on
    // round trips (HTTP, then PostgreSQL) with both cores idle. Each request is independent of the others.
    let next = 0;
    const lane = async () => {
      for (let i = next++; i < requests.length; i = next++) {
        const res = await demo.call('GET', requests[i]!);
        if (res.status < 400) {
          await res.arrayBuffer();
          continue; // ignoring a parameter a route does not take is fine
        }
        const got = await refusal(res);
        if (got !== '4xx code') outcomes[i] = `GET ${requests[i]} -> ${got}`;
      }
    };
    await Promise.all(Array.from({ length: 6 }, lane));
    expect(outcomes.filter((failure) => failure !== null)).toEqual([]);
  }, 240_000);

  it('on POST routes: invalid JSON, bad gzip, unknown encodings, wrong content types, wrong shapes', async () => {
    const routes = [
      '/api/crm/companies',
      '/api/crm/contacts',
      '/api/crm/deals',
      '/api/crm/notes',
      '/api/crm/views',
      '/api/crm/custom-fields',
      '/api/team/invitations',
      '/api/tokens',
      '/api/notifications/read',
      '/api/meetings',
      '/api/inbox/mailboxes',
      '/api/inbox/templates',
      '/api/auth/login',
      '/api/auth/signup',
      '/api/auth/signup/confirm',
      '/api/auth/accept-invite',
    ];
    const bodies: { name: string; headers: Record<string, string>; body: string | Uint8Array }[] = [
      { name: 'invalid JSON', headers: { 'content-type': 'application/json' }, body: '{"name": ' },
      {
        name: 'gzip garbage',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: 'this is not gzip at all',
      },
      {
        name: 'truncated gzip',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipSync(Buffer.from('{"name":"x","type":"client"}')).subarray(0, 12),
      },
      {
        name: 'deflate garbage',
        headers: { 'content-type': 'application/json', 'content-encoding': 'deflate' },
        body: 'nope',
      },
      {
        name: 'unknown encoding',
        headers: { 'content-type': 'application/json', 'content-encoding': 'br2' },
        body: '{}',
      },
      { name: 'charset', headers: { 'content-type': 'application/json; charset=klingon' }, body: '{}' },
      { name: 'array body', headers: { 'content-type': 'application/json' }, body: '[1,2,3]' },
      { name: 'string body', headers: { 'content-type': 'application/json' }, body: '"hello"' },
      { name: 'null body', headers: { 'content-type': 'application/json' }, body: 'null' },
      { name: 'number body', headers: { 'content-type': 'application/json' }, body: '1e400' },
      {
        name: 'objects where strings are expected',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: { $ne: 1 },
          title: ['x'],
          email: { a: 1 },
          type: [],
          content: {},
          token: { a: 1 },
          password: ['x'],
          entityType: { a: 1 },
          entityId: [1],
          workspace: 1e308,
          scheduledAt: { a: 1 },
        }),
      },
      {
        name: 'huge numbers',
        headers: { 'content-type': 'application/json' },
        body: '{"name":"x","type":"client","annualRevenue":1e400,"value":-1e400,"probability":1e400,"durationMinutes":1e400}',
      },
      {
        name: 'prototype keys',
        headers: { 'content-type': 'application/json' },
        body: '{"__proto__":{"a":1},"constructor":{"prototype":{"b":2}}}',
      },
      {
        name: 'form body',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'name[a]=1&type=client',
      },
      { name: 'text body', headers: { 'content-type': 'text/plain' }, body: 'name=x' },
      {
        name: 'multipart to a JSON route',
        headers: { 'content-type': 'multipart/form-data; boundary=x' },
        body: '--x--',
      },
    ];
    const failures: string[] = [];
    for (const path of routes) {
      for (const b of bodies) {
        const res = await fetch(`${filo.baseUrl}${path}`, {
          method: 'POST',
          headers: { cookie: demo.cookie, origin: filo.baseUrl, ...b.headers },
          body: b.body,
        });
        const got = await refusal(res);
        if (got !== '4xx code') failures.push(`POST ${path} with ${b.name} -> ${got}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('on uploads: a broken multipart body and a missing boundary', async () => {
    const failures: string[] = [];
    for (const path of ['/api/crm/documents', '/api/crm/imports']) {
      for (const [name, type, body] of [
        ['no boundary', 'multipart/form-data', 'x'],
        [
          'truncated',
          'multipart/form-data; boundary=b',
          '--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc',
        ],
        ['garbage', 'multipart/form-data; boundary=b', '\u0000\u0001garbage'],
        ['json', 'application/json', '{}'],
      ] as const) {
        const res = await fetch(`${filo.baseUrl}${path}`, {
          method: 'POST',
          headers: { cookie: demo.cookie, origin: filo.baseUrl, 'content-type': type },
          body,
        });
        const got = await refusal(res);
        if (got !== '4xx code') failures.push(`POST ${path} with ${name} -> ${got}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('and the data stays as it was', async () => {
    const { items } = await demo.json('GET', '/api/crm/companies?limit=200');
    expect(items.filter((c: { name: string }) => c.name === 'x')).toEqual([]);
  });
});
