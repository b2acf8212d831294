import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import pg from 'pg';
import { readOutbox } from '../server/delivery/mailer.ts';
import {
  apiClient,
  body,
  DEMO,
  errorCode,
  login,
  signUp,
  startTestFilo,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);
const as = (email: string) => ({ email, password: DEMO.password });

describe('profile, workspace settings and pending invitations', () => {
  let filo: TestFilo;
  let owner: ApiClient;
  let admin: ApiClient;
  let member: ApiClient;
  let other: ApiClient;
  const upload = (client: ApiClient, url: string, bytes: Buffer, name = 'picture.png') => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(bytes)]), name);
    return fetch(`${filo.baseUrl}${url}`, {
      method: 'POST',
      headers: { cookie: client.cookie, origin: filo.baseUrl },
      body: form,
    });
  };
  const get = (client: ApiClient, url: string) =>
    fetch(`${filo.baseUrl}${url}`, { headers: { cookie: client.cookie } });

  beforeAll(async () => {
    filo = await startTestFilo();
    owner = apiClient(filo.baseUrl, await login(filo.baseUrl));
    admin = apiClient(filo.baseUrl, await login(filo.baseUrl, as('mario@filo.local')));
    member = apiClient(filo.baseUrl, await login(filo.baseUrl, as('luca@filo.local')));
    other = apiClient(
      filo.baseUrl,
      await signUp(filo, {
        workspace: 'Elsewhere',
        name: 'Olga Other',
        email: 'olga@elsewhere.example',
        password: 'Distant-meadow-2291',
      }),
    );
  });
  afterAll(() => filo?.close());

  it('changes the name and language, refusing bad input', async () => {
    const me = await member.json('PATCH', '/api/auth/me', { name: 'Luca Bianchi', locale: 'it' });
    expect(me.user).toMatchObject({ name: 'Luca Bianchi', locale: 'it', avatarUrl: null });
    expect((await member.json('GET', '/api/auth/me')).user).toMatchObject({ name: 'Luca Bianchi', locale: 'it' });
    for (const patch of [{ name: '  ' }, { locale: 'fr' }, { name: 'x'.repeat(256) }, { email: 'a@b.example' }]) {
      const res = await member.call('PATCH', '/api/auth/me', patch);
      expect(res.status).toBe(400);
      expect(await errorCode(res)).toBe('validation_failed');
    }
    expect((await member.json('GET', '/api/auth/me')).user.name).toBe('Luca Bianchi');
  });

  it('keeps an avatar that only members of the same workspace see, and refuses what is not a picture', async () => {
    const res = await upload(member, '/api/auth/me/avatar', PNG);
    expect(res.status).toBe(200);
    const { avatarUrl } = await body(res);
    const me = await member.json('GET', '/api/auth/me');
    expect(me.user.avatarUrl).toBe(avatarUrl);
    expect(avatarUrl).toMatch(new RegExp(`^/api/users/${me.user.id}/avatar\\?v=`));
    const seen = await get(owner, avatarUrl);
    expect(seen.status).toBe(200);
    expect(seen.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await seen.arrayBuffer())).toEqual(PNG);
    expect((await get(other, avatarUrl)).status).toBe(404);
    expect((await fetch(`${filo.baseUrl}${avatarUrl}`)).status).toBe(401);

    const svg = await upload(
      member,
      '/api/auth/me/avatar',
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'),
      'a.png',
    );
    expect(svg.status).toBe(400);
    expect(await errorCode(svg)).toBe('unsupported_image');
    const text = await upload(member, '/api/auth/me/avatar', Buffer.from('just words'), 'a.jpg');
    expect(await errorCode(text)).toBe('unsupported_image');
    const huge = await upload(member, '/api/auth/me/avatar', Buffer.concat([PNG, Buffer.alloc(2 * 1024 * 1024)]));
    expect(huge.status).toBe(413);
    // Refused uploads left the picture as it was.
    expect((await member.json('GET', '/api/auth/me')).user.avatarUrl).toBe(avatarUrl);

    const second = await body(await upload(member, '/api/auth/me/avatar', PNG));
    expect(second.avatarUrl).not.toBe(avatarUrl);
    const oldKey = new URL(avatarUrl, filo.baseUrl).searchParams.get('v')!;
    const blobs = path.join(filo.config.dataDir, 'blobs', 'avatars');
    const kept = (await import('node:fs')).readdirSync(blobs, { recursive: true }) as string[];
    expect(
      kept.some((f) => f.endsWith(oldKey)),
      `${oldKey} in ${kept.join(' ')}`,
    ).toBe(false);
    expect((await member.call('DELETE', '/api/auth/me/avatar')).status).toBe(204);
    expect((await get(owner, second.avatarUrl)).status).toBe(404);
    expect((await member.json('GET', '/api/auth/me')).user.avatarUrl).toBeNull();
    expect(existsSync(blobs)).toBe(true);
  });

  it('changes the password only with the current one, rate limited, ending the other sessions', async () => {
    const here = apiClient(filo.baseUrl, await login(filo.baseUrl, as('sara@filo.local')));
    const there = apiClient(filo.baseUrl, await login(filo.baseUrl, as('sara@filo.local')));
    const wrong = await here.call('POST', '/api/auth/password', { current: 'not-it', password: 'Copper-lantern-7781' });
    expect(wrong.status).toBe(401);
    expect(
      (await here.call('POST', '/api/auth/password', { current: DEMO.password, password: 'password' })).status,
    ).toBe(400);
    expect(
      (await here.call('POST', '/api/auth/password', { current: DEMO.password, password: 'Copper-lantern-7781' }))
        .status,
    ).toBe(204);
    expect((await there.call('GET', '/api/auth/me')).status).toBe(401);
    expect((await here.call('GET', '/api/auth/me')).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++)
      statuses.push(
        (await here.call('POST', '/api/auth/password', { current: `guess-${i}`, password: 'Copper-lantern-7782' }))
          .status,
      );
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses[10]).toBe(429);
  });

  it('reads the workspace settings for every member; only owners and admins change them', async () => {
    const initial = await member.json('GET', '/api/team/workspace');
    expect(initial).toMatchObject({ currency: 'EUR', timeZone: 'Europe/Rome', businessHours: null, logoUrl: null });
    const forbidden = await member.call('PATCH', '/api/team/workspace', { name: 'Taken over' });
    expect(forbidden.status).toBe(403);
    expect(await errorCode(forbidden)).toBe('forbidden');
    expect((await member.call('PATCH', '/api/team/workspace', { currency: 'nope' })).status).toBe(403);

    const hours = { days: [1, 2, 3, 4, 5], start: '09:00', end: '18:00' };
    const changed = await admin.json('PATCH', '/api/team/workspace', {
      name: 'Filo Demo Srl',
      currency: 'USD',
      timeZone: 'America/New_York',
      businessHours: hours,
    });
    expect(changed).toMatchObject({
      name: 'Filo Demo Srl',
      currency: 'USD',
      timeZone: 'America/New_York',
      businessHours: hours,
    });
    // Only the fields sent change: another admin's change of one field keeps the rest.
    const later = await owner.json('PATCH', '/api/team/workspace', { currency: 'GBP' });
    expect(later).toMatchObject({ name: 'Filo Demo Srl', currency: 'GBP', timeZone: 'America/New_York' });
    expect((await member.json('GET', '/api/auth/me')).workspace.name).toBe('Filo Demo Srl');

    const bad: [unknown, string][] = [
      [{ currency: 'XYZ' }, 'currency'],
      [{ currency: 'eur' }, 'currency'],
      [{ timeZone: 'Mars/Olympus_Mons' }, 'timeZone'],
      [{ businessHours: { days: [1], start: '18:00', end: '09:00' } }, 'businessHours.end'],
      [{ businessHours: { days: [8], start: '09:00', end: '18:00' } }, 'businessHours.days.0'],
      [{ businessHours: { days: [1, 1], start: '09:00', end: '18:00' } }, 'businessHours.days'],
      [{ businessHours: { days: [], start: '9', end: '18:00' } }, 'businessHours.start'],
      [{ name: '' }, 'name'],
      [{ slug: 'mine' }, ''],
    ];
    for (const [patch, field] of bad) {
      const res = await owner.call('PATCH', '/api/team/workspace', patch);
      expect(`${JSON.stringify(patch)} -> ${res.status}`).toBe(`${JSON.stringify(patch)} -> 400`);
      const error = (await body(res)).error;
      expect(error.code).toBe('validation_failed');
      if (field) expect(Object.keys(error.fields ?? {})).toContain(field);
    }
    expect(await owner.json('GET', '/api/team/workspace')).toMatchObject({ currency: 'GBP', businessHours: hours });
    expect((await owner.json('PATCH', '/api/team/workspace', { businessHours: null })).businessHours).toBeNull();
  });

  it('keeps a logo that owners and admins set and members see', async () => {
    expect((await upload(member, '/api/team/workspace/logo', PNG)).status).toBe(403);
    const res = await upload(admin, '/api/team/workspace/logo', PNG);
    expect(res.status).toBe(200);
    const { logoUrl } = await body(res);
    expect(logoUrl).toMatch(/^\/api\/team\/workspace\/logo\?v=/);
    expect((await member.json('GET', '/api/auth/me')).workspace.logoUrl).toBe(logoUrl);
    const seen = await get(member, logoUrl);
    expect(seen.status).toBe(200);
    expect(seen.headers.get('content-type')).toBe('image/png');
    // Another workspace asks for its own logo, and has none.
    expect((await get(other, logoUrl)).status).toBe(404);
    expect(await errorCode(await upload(admin, '/api/team/workspace/logo', Buffer.from('GIF89a')))).toBe(
      'unsupported_image',
    );
    expect((await member.call('DELETE', '/api/team/workspace/logo')).status).toBe(403);
    expect((await admin.call('DELETE', '/api/team/workspace/logo')).status).toBe(204);
    expect((await get(member, logoUrl)).status).toBe(404);
  });

  it('lists pending invitations; resend kills the old link, revoke kills the link at once', async () => {
    const accept = (token: string) =>
      fetch(`${filo.baseUrl}/api/auth/accept-invite`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, name: 'New Person', password: 'Silver-harbour-6124' }),
      });
    const first = await owner.json('POST', '/api/team/invitations', { email: 'newbie@example.com', role: 'member' });
    const second = await admin.json('POST', '/api/team/invitations', { email: 'later@example.com', role: 'admin' });
    const list = await owner.json('GET', '/api/team/invitations');
    expect(list.items.map((i: { email: string }) => i.email)).toEqual(['later@example.com', 'newbie@example.com']);
    expect(list.items[1]).toMatchObject({ id: first.id, role: 'member', invitedBy: 'Demo Owner', expired: false });
    expect((await member.call('GET', '/api/team/invitations')).status).toBe(403);
    expect((await member.call('POST', `/api/team/invitations/${first.id}/resend`)).status).toBe(403);
    expect((await member.call('DELETE', `/api/team/invitations/${first.id}`)).status).toBe(403);
    // Another workspace's owner finds none of ours.
    expect((await other.call('POST', `/api/team/invitations/${first.id}/resend`)).status).toBe(404);
    expect((await other.call('DELETE', `/api/team/invitations/${first.id}`)).status).toBe(404);
    expect((await owner.call('POST', '/api/team/invitations/not-an-id/resend')).status).toBe(404);

    // An expired invitation stays listed; resending it gives a new week and a new link.
    // As the schema owner: row-level security hides invitations from a connection without a workspace.
    const db = new pg.Client({ connectionString: filo.databaseUrl });
    await db.connect();
    await db.query(`update invitations set expires_at = now() - interval '1 hour' where email = 'newbie@example.com'`);
    await db.end();
    expect((await owner.json('GET', '/api/team/invitations')).items[1].expired).toBe(true);
    const resent = await admin.json('POST', `/api/team/invitations/${first.id}/resend`, undefined, 200);
    expect(resent.token).not.toBe(first.token);
    expect(new Date(resent.expiresAt).getTime()).toBeGreaterThan(Date.now() + 6 * 24 * 3600_000);
    const mails: string[] = [];
    for (const { raw } of readOutbox(filo.services.mailer.outboxDir!)) {
      const mail = await simpleParser(raw);
      if (mail.to && !Array.isArray(mail.to) && mail.to.text === 'newbie@example.com') mails.push(mail.text ?? '');
    }
    expect(mails).toHaveLength(2);
    expect(mails[1]).toContain(`/invite#${resent.token}`);
    const pending = (await owner.json('GET', '/api/team/invitations')).items;
    expect(pending.find((i: { id: string }) => i.id === first.id)).toMatchObject({
      expired: false,
      invitedBy: 'Mario Rossi',
    });

    const oldLink = await accept(first.token);
    expect(oldLink.status).toBe(410);
    expect(await errorCode(oldLink)).toBe('invitation_invalid');
    expect((await accept(resent.token)).status).toBe(200);

    expect((await owner.call('DELETE', `/api/team/invitations/${second.id}`)).status).toBe(204);
    expect(await errorCode(await accept(second.token))).toBe('invitation_invalid');
    expect((await owner.call('DELETE', `/api/team/invitations/${second.id}`)).status).toBe(404);
    expect((await owner.call('POST', `/api/team/invitations/${second.id}/resend`)).status).toBe(404);
    expect((await owner.json('GET', '/api/team/invitations')).items).toEqual([]);
  });
});
