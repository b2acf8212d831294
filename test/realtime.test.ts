import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connect, type Socket } from 'socket.io-client';
import type { ServerToClientEvents, SessionInfo } from '../realtime/events.ts';
import { rooms } from '../realtime/events.ts';
import { login, startTestFilo, type TestFilo } from './support/harness.ts';

let filo: TestFilo;
const sockets: Socket[] = [];
beforeAll(async () => {
  filo = await startTestFilo();
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await filo?.close();
});

function open(headers: Record<string, string>, transports: ('websocket' | 'polling')[] = ['websocket']) {
  const socket: Socket<ServerToClientEvents> = connect(filo.baseUrl, {
    path: '/socket.io',
    transports,
    extraHeaders: headers,
    reconnection: false,
  });
  sockets.push(socket);
  return socket;
}

const connectError = (socket: Socket) =>
  new Promise<string>((resolve, reject) => {
    socket.once('connect_error', (err) => resolve(err.message));
    socket.once('connect', () => reject(new Error('connected without credentials')));
  });

describe('socket handshake', () => {
  it('refuses a connection without a session', async () => {
    expect(await connectError(open({}))).toBe('unauthorized');
  });

  it('refuses a forged or revoked session cookie', async () => {
    expect(await connectError(open({ cookie: 'filo_session=forged-token' }))).toBe('unauthorized');
    const cookie = await login(filo.baseUrl);
    await fetch(`${filo.baseUrl}/api/auth/logout`, { method: 'POST', headers: { cookie, origin: filo.baseUrl } });
    expect(await connectError(open({ cookie }))).toBe('unauthorized');
  });

  it('accepts the session cookie and tells the socket who it is, over WebSocket and long-polling', async () => {
    const cookie = await login(filo.baseUrl);
    for (const transports of [['websocket'], ['polling']] as const) {
      const socket = open({ cookie }, [...transports]);
      const info = await new Promise<SessionInfo>((resolve, reject) => {
        socket.once('session:ready', resolve);
        socket.once('connect_error', reject);
      });
      expect(info).toMatchObject({ userName: 'Demo Owner', role: 'owner' });
      expect(socket.connected).toBe(true);
    }
  });

  it('puts the socket in its tenant and user rooms', async () => {
    const cookie = await login(filo.baseUrl);
    const socket = open({ cookie });
    const info = await new Promise<SessionInfo>((resolve) => socket.once('session:ready', resolve));
    const inUserRoom = await filo.realtime!.io.in(rooms.user(info.tenantId, info.userId)).fetchSockets();
    const inTenantRoom = await filo.realtime!.io.in(`tenant:${info.tenantId}`).fetchSockets();
    expect(inUserRoom.map((s) => s.id)).toContain(socket.id);
    expect(inTenantRoom.map((s) => s.id)).toContain(socket.id);
  });

  it('refuses a browser handshake from another site even with a valid cookie', async () => {
    const cookie = await login(filo.baseUrl);
    const socket = open({ cookie, origin: 'https://evil.example' }, ['polling']);
    expect(await connectError(socket)).toMatch(/xhr poll error|forbidden|unauthorized/i);
  });
});
