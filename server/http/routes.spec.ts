import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { errorHandler } from './errors.ts';
import { ApiRouter, sendJsonText } from './routes.ts';

interface Refusal {
  error: { code: string; message: string; fields?: Record<string, string> };
}
const refusal = async (res: Response) => ((await res.json()) as Refusal).error;

const company = z.object({ id: z.string(), name: z.string(), createdAt: z.string() });

function app() {
  const r = new ApiRouter('/t');
  const summary = 'A company';
  r.get('/right', { summary, response: company }, (_req, res) => {
    res.json({ id: 'c1', name: 'Acme', createdAt: new Date(0) });
  });
  r.get('/wrong', { summary, response: company }, (_req, res) => {
    res.json({ id: 'c1', title: 'Acme', createdAt: new Date(0) });
  });
  r.post('/created', { summary, response: company, status: 201 }, (_req, res) => {
    res.status(201).send({ id: 7, name: 'Acme', createdAt: '1970-01-01T00:00:00.000Z' });
  });
  r.get('/text-right', { summary, response: company }, (_req, res) => {
    sendJsonText(res, '{"id":"c1","name":"Acme","createdAt":"1970-01-01T00:00:00.000Z"}');
  });
  r.get('/text-wrong', { summary, response: company }, (_req, res) => {
    sendJsonText(res, '{"id":"c1","title":"Acme"}');
  });
  r.get('/refused', { summary, response: company }, (_req, res) => {
    res.status(404).json({ error: { code: 'not_found', message: 'Company not found' } });
  });
  // A file answer is bytes of its media type: only JSON contracts are parsed.
  r.get('/file', { summary: 'A file', response: { file: 'application/json' } }, (_req, res) => {
    res.json({ anything: true });
  });
  const a = express();
  a.use('/api/t', r.router);
  a.use(errorHandler);
  return a;
}

describe('response contract check (FILO_CHECK_RESPONSES=1)', () => {
  let base = '';
  let close: () => void = () => {};
  const previous = process.env.FILO_CHECK_RESPONSES;

  beforeAll(async () => {
    process.env.FILO_CHECK_RESPONSES = '1';
    const server = app().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/t`;
    close = () => server.close();
  });
  afterAll(() => {
    close();
    if (previous === undefined) delete process.env.FILO_CHECK_RESPONSES;
    else process.env.FILO_CHECK_RESPONSES = previous;
  });

  it('passes an answer that matches its schema once serialised (a Date travels as a string)', async () => {
    const res = await fetch(`${base}/right`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: 'c1', name: 'Acme', createdAt: '1970-01-01T00:00:00.000Z' });
  });

  it('turns a wrong shape into a 500 response_contract naming the route and the first issues', async () => {
    const res = await fetch(`${base}/wrong`);
    expect(res.status).toBe(500);
    const error = await refusal(res);
    expect(error.code).toBe('response_contract');
    expect(error.message).toContain('GET /api/t/wrong');
    expect(error.fields).toHaveProperty('name');
  });

  it('checks bodies sent with res.send and a non-200 success status', async () => {
    const res = await fetch(`${base}/created`, { method: 'POST' });
    expect(res.status).toBe(500);
    const error = await refusal(res);
    expect(error.code).toBe('response_contract');
    expect(error.message).toContain('POST /api/t/created');
    expect(error.fields).toHaveProperty('id');
  });

  it('checks an answer written as JSON text like any other', async () => {
    const right = await fetch(`${base}/text-right`);
    expect(right.status).toBe(200);
    expect(await right.json()).toEqual({ id: 'c1', name: 'Acme', createdAt: '1970-01-01T00:00:00.000Z' });
    const wrong = await fetch(`${base}/text-wrong`);
    expect(wrong.status).toBe(500);
    expect((await refusal(wrong)).fields).toHaveProperty('name');
  });

  it('leaves error answers and file answers alone', async () => {
    const refused = await fetch(`${base}/refused`);
    expect(refused.status).toBe(404);
    expect((await refusal(refused)).code).toBe('not_found');
    const file = await fetch(`${base}/file`);
    expect(file.status).toBe(200);
    expect(await file.json()).toEqual({ anything: true });
  });
});

describe('JSON text answers without the check (production)', () => {
  it('sends the text as it is, as JSON', async () => {
    const previous = process.env.FILO_CHECK_RESPONSES;
    delete process.env.FILO_CHECK_RESPONSES;
    const server = app().listen(0, '127.0.0.1');
    try {
      await new Promise((resolve) => server.once('listening', resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/t`;
      const res = await fetch(`${base}/text-wrong`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await res.text()).toBe('{"id":"c1","title":"Acme"}');
    } finally {
      server.close();
      if (previous !== undefined) process.env.FILO_CHECK_RESPONSES = previous;
    }
  });
});
