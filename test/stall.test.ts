import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, body, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { pollHealth } from './support/health.ts';

// Issue 11: no input may stall the event loop. Hostile bodies go through the HTTP API while /healthz is asked again
// and again; each answer must come within a second, and the hostile input gets a 4xx with a code (or is served).

/** Runs `send` while /healthz is polled; every answer must come within a second. */
async function responsiveDuring<T>(filo: TestFilo, send: () => Promise<T>): Promise<T> {
  const health = pollHealth(filo.baseUrl);
  try {
    return await send();
  } finally {
    const { slowest, answers, failures } = await health.stop();
    expect(failures).toEqual([]);
    expect(answers).toBeGreaterThan(0);
    expect(slowest).toBeLessThan(1_000);
  }
}

const nestedDivs = (depth: number) => `${'<div>'.repeat(depth)}x${'</div>'.repeat(depth)}`;

describe('composed mail cannot stall Filo', () => {
  let filo: TestFilo;
  let demo: ApiClient;
  let mailboxId: string;
  const send = (payload: Record<string, unknown>) =>
    demo.call('POST', '/api/inbox/messages', { mailboxId, to: 'cliente@example.test', subject: 'Hi', ...payload });

  beforeAll(async () => {
    filo = await startTestFilo();
    demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
    mailboxId = (await demo.json('POST', '/api/inbox/mailboxes', { name: 'Stall', localPart: 'stall' })).id;
  });
  afterAll(() => filo?.close());

  it('HTML nested 66,000 deep (within the 200,000 characters a body may have): 400 html_too_deep, /healthz answers', async () => {
    const res = await responsiveDuring(filo, () => send({ format: 'html', body: '<b>'.repeat(66_000) }));
    expect(res.status).toBe(400);
    expect(await body(res)).toMatchObject({ error: { code: 'html_too_deep', fields: { body: expect.any(String) } } });
    // closed again, and in a signature
    const signed = await responsiveDuring(filo, () => send({ body: 'Ciao', signature: nestedDivs(1_500) }));
    expect(signed.status).toBe(400);
    expect(await body(signed)).toMatchObject({
      error: { code: 'html_too_deep', fields: { signature: expect.any(String) } },
    });
    // deep but not absurd, with void and self-closed elements that close nothing: sent
    const fine = await send({ format: 'html', body: `${nestedDivs(900)}${'<br><img src="cid:x"/>'.repeat(5_000)}` });
    expect(fine.status).toBe(202);
  }, 120_000);

  it('Markdown quotes nested 20,000 deep (the renderer overflows its stack): 400 content_too_complex', async () => {
    const res = await responsiveDuring(filo, () => send({ body: `${'>'.repeat(20_000)} deep` }));
    expect(res.status).toBe(400);
    expect((await body(res)).error.code).toBe('content_too_complex');
    // the signature is Markdown too
    const signed = await responsiveDuring(filo, () => send({ body: 'Ciao', signature: `${'>'.repeat(19_000)} deep` }));
    expect(signed.status).toBe(400);
    expect((await body(signed)).error.code).toBe('content_too_complex');
  }, 120_000);

  it('HTML with a run of 150,000 spaces (quadratic for a trailing-space regex) is sent, its text alternative trimmed', async () => {
    const res = await responsiveDuring(filo, () =>
      send({ format: 'html', body: `<p>Ciao${' '.repeat(150_000)}Giulia   </p>` }),
    );
    expect(res.status).toBe(202);
  }, 120_000);

  it('an ordinary message is still composed and queued', async () => {
    const res = await send({ body: 'Ciao **Giulia**, a presto.' });
    expect(res.status).toBe(202);
  });
});

describe('CSV imports cannot stall Filo', () => {
  let filo: TestFilo;
  let demo: ApiClient;

  beforeAll(async () => {
    filo = await startTestFilo();
    demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  });
  afterAll(() => filo?.close());

  it('a header of 5,000 columns over 5,000 one-cell lines is read in linear time: /healthz answers throughout', async () => {
    const header = Array.from({ length: 5_000 }, (_, i) => `column ${i}`).join(',');
    const csv = `${header}\n${'x\n'.repeat(5_000)}`;
    const done = await responsiveDuring(filo, async () => {
      const form = new FormData();
      form.append('entityType', 'company');
      form.append('file', new Blob([csv], { type: 'text/csv' }), 'wide.csv');
      const res = await fetch(`${filo.baseUrl}/api/crm/imports`, {
        method: 'POST',
        headers: { cookie: demo.cookie, origin: filo.baseUrl },
        body: form,
      });
      expect(res.status).toBe(202);
      const id = (await body(res)).id as string;
      await expect
        .poll(async () => (await demo.json('GET', `/api/crm/imports/${id}`)).status, { timeout: 60_000, interval: 100 })
        .toBe('completed');
      return demo.json('GET', `/api/crm/imports/${id}`);
    });
    // every line lacks a name: reported, none created
    expect(done).toMatchObject({ totalRows: 5_000, processedRows: 5_000, createdRows: 0 });
  }, 120_000);
});
