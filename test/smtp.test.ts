import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestFilo, type TestFilo } from './support/harness.ts';

const run = promisify(execFile);
let filo: TestFilo;
beforeAll(async () => {
  filo = await startTestFilo();
});
afterAll(() => filo?.close());

describe('SMTP gateway', () => {
  it('greets, advertises SIZE, and refuses an unknown mailbox of a workspace with 550 5.1.1 (swaks)', async () => {
    const result = await run(
      'swaks',
      ['--server', `127.0.0.1:${filo.smtpPort}`, '--to', 'nobody@demo.inbound.localhost', '--from', 'a@example.com'],
      { timeout: 20_000 },
    ).catch((err: { code: number; stdout: string }) => err);
    const output = 'stdout' in result ? result.stdout : '';
    expect(output).toMatch(/<- {2}220 .*Filo mail gateway/);
    expect(output).toMatch(/<- {2}250[- ]SIZE 26214400/);
    expect(output).toMatch(/<\*\* 550 5\.1\.1 No such mailbox here/);
    expect((result as { code?: number }).code).not.toBe(0);
  });

  it('makes a real client fail with the 550 code (nodemailer)', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: filo.smtpPort!, secure: false });
    const error = await transport
      .sendMail({ from: 'a@example.com', to: 'nobody@demo.inbound.localhost', subject: 'hi', text: 'hello' })
      .then(
        () => null,
        (err: { responseCode?: number; code?: string }) => err,
      );
    expect(error).not.toBeNull();
    expect(error!.responseCode).toBe(550);
    transport.close();
  });
});
