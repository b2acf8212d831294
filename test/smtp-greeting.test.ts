import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FiloSmtpServer, GreetingPasses } from '../mail-gateway/greeting.ts';
import { ConfigError, loadConfig } from '../server/config.ts';
import { tempDir } from './support/harness.ts';

/**
 * The greeting delay (mail-gateway/greeting.ts): Filo's own setting in place of smtp-server's fixed 100 ms. With
 * a delay, a client that talks before the greeting is refused; without one, the greeting comes first and the
 * same client is served.
 */
let server: FiloSmtpServer | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

const listen = async (delayMs: number) => {
  server = new FiloSmtpServer(
    {
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      disableReverseLookup: true,
      // Answered at once, as the gateway's own onConnect does (smtp-server's default waits a turn of the loop).
      onConnect: (_session, callback) => callback(),
    },
    delayMs,
  );
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.server.address() as net.AddressInfo).port;
};

/** Connects, sends EHLO at once (before any greeting), and collects what the server says until it has answered. */
const earlyTalker = (port: number) =>
  new Promise<string>((resolve, reject) => {
    let said = '';
    const socket = net.connect(port, '127.0.0.1', () => socket.write('EHLO early.example\r\n'));
    socket.on('data', (d: Buffer) => {
      said += d.toString();
      // Refused (421 then the server closes), or greeted and EHLO answered (its last line is `250 <text>`).
      if (/^421 /m.test(said) || /^250 /m.test(said)) {
        socket.end();
        resolve(said);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(said));
  });

describe('SMTP greeting delay', () => {
  it('refuses a client that talks before the greeting while the delay is on', async () => {
    // Long enough that the EHLO surely arrives within it, even on a loaded machine.
    const said = await earlyTalker(await listen(5_000));
    expect(said).toMatch(/^421 .*You talk too soon/m);
    expect(said).not.toMatch(/^220 /m);
  });

  it('greets at once with no delay, so the same client is served', async () => {
    // The greeting is written before the socket is read at all: the EHLO cannot come first.
    const said = await earlyTalker(await listen(0));
    expect(said).toMatch(/^220 /m);
    expect(said).toMatch(/^250[ -]/m);
    expect(said).not.toMatch(/^421 /m);
  });

  it('greets an address that waited once at once afterwards, and never remembers one that talked first', async () => {
    const port = await listen(300);
    expect(await earlyTalker(port)).toMatch(/^421 .*You talk too soon/m);
    expect(await earlyTalker(port)).toMatch(/^421 .*You talk too soon/m);
    // A real server waits for the greeting, then goes on (here: QUIT).
    const greeted = await new Promise<string>((resolve, reject) => {
      let said = '';
      const socket = net.connect(port, '127.0.0.1');
      socket.on('data', (d: Buffer) => {
        said += d.toString();
        if (/^220 /m.test(said) && !/^221 /m.test(said)) socket.write('QUIT\r\n');
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(said));
    });
    expect(greeted).toMatch(/^220 /m);
    // The same address, talking first now: greeted before its EHLO is read, and served.
    const said = await earlyTalker(port);
    expect(said).toMatch(/^220 /m);
    expect(said).toMatch(/^250[ -]/m);
  });

  it('remembers an address for its time only, and at most so many addresses', () => {
    const expired = new GreetingPasses({ ttlMs: -1 });
    expired.add('192.0.2.1');
    expect(expired.has('192.0.2.1')).toBe(false);
    const small = new GreetingPasses({ max: 2 });
    for (const a of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) small.add(a);
    expect(['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((a) => small.has(a))).toEqual([false, true, true]);
  });

  it('is SMTP_GREETING_DELAY_MS, 100 ms unless set, never negative', () => {
    const dir = tempDir('filo-config-');
    try {
      expect(loadConfig({ DATA_DIR: dir.dir }).smtp.greetingDelayMs).toBe(100);
      expect(loadConfig({ DATA_DIR: dir.dir, SMTP_GREETING_DELAY_MS: '0' }).smtp.greetingDelayMs).toBe(0);
      expect(() => loadConfig({ DATA_DIR: dir.dir, SMTP_GREETING_DELAY_MS: '-5' })).toThrow(ConfigError);
    } finally {
      dir.remove();
    }
  });
});
