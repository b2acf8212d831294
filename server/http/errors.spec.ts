import type { Request, Response } from 'express';
import { describe, expect, it } from 'vitest';
import { errorHandler } from './errors.ts';

function answer(err: unknown): { status: number; body: { error: { code: string } } } {
  const out = { status: 0, body: undefined as unknown as { error: { code: string } } };
  const res = {
    headersSent: false,
    setHeader() {},
    status(code: number) {
      out.status = code;
      return this;
    },
    json(body: { error: { code: string } }) {
      out.body = body;
      return this;
    },
  } as unknown as Response;
  errorHandler(err, { log: { warn() {}, error() {} } } as unknown as Request, res, () => {});
  return out;
}

describe('errorHandler', () => {
  it("answers PostgreSQL's invalid text representation (22P02: a malformed id) with 400 invalid_value", () => {
    const err = Object.assign(new Error('invalid input syntax for type uuid: "x"'), { code: '22P02' });
    expect(answer(err)).toMatchObject({ status: 400, body: { error: { code: 'invalid_value' } } });
  });

  it('keeps any other database error a 500 that says nothing of it', () => {
    const err = Object.assign(new Error('relation "x" does not exist'), { code: '42P01' });
    const { status, body } = answer(err);
    expect(status).toBe(500);
    expect(JSON.stringify(body)).not.toContain('relation');
  });
});
