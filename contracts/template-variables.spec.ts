import { describe, expect, it } from 'vitest';
import { checkTemplate, renderTemplate, templateVariables } from './template-variables.ts';

describe('template variables', () => {
  it('accept contact fields and declared names, and fill them in', () => {
    const body = 'Hi {{first_name}}, your order {{ order }} ships today';
    expect(templateVariables(body)).toEqual(['first_name', 'order']);
    expect(checkTemplate({ body, positional: false, declared: ['order'] })).toEqual([]);
    expect(renderTemplate(body, { first_name: 'Ada', order: 'A-7' })).toBe('Hi Ada, your order A-7 ships today');
    expect(renderTemplate(body, {})).toBe('Hi , your order  ships today');
  });

  it('refuse unknown, unused, malformed and unclosed variables and an empty body', () => {
    expect(checkTemplate({ body: 'Hi {{nmae}}', positional: false })).toEqual([
      { code: 'unknown_variable', variable: 'nmae' },
    ]);
    expect(checkTemplate({ body: 'Hi {{name}}', positional: false, declared: ['code'] })).toEqual([
      { code: 'unused_variable', variable: 'code' },
    ]);
    expect(checkTemplate({ body: 'Hi {{first name}}', positional: false })).toContainEqual({
      code: 'bad_variable',
      variable: 'first name',
    });
    expect(checkTemplate({ body: 'Hi {{name', positional: false })).toEqual([{ code: 'unclosed_variable' }]);
    expect(checkTemplate({ body: 'Hi {{ {{name}} }}', positional: false })).toContainEqual({
      code: 'unclosed_variable',
    });
    expect(checkTemplate({ body: '  ', positional: false })).toEqual([{ code: 'empty_body' }]);
  });

  it('take WhatsApp positional variables numbered from 1 without gaps, matching the declared ones', () => {
    expect(checkTemplate({ body: 'Order {{1}} for {{2}}', positional: true, declared: ['order', 'name'] })).toEqual([]);
    expect(checkTemplate({ body: 'Order {{1}} for {{3}}', positional: true })).toEqual([
      { code: 'positional_gap', variable: '2' },
    ]);
    expect(checkTemplate({ body: 'Hi {{name}}', positional: true })).toEqual([
      { code: 'positional_required', variable: 'name' },
    ]);
    expect(checkTemplate({ body: 'Hi {{1}} {{name}}', positional: true })).toContainEqual({ code: 'mixed_variables' });
    expect(checkTemplate({ body: 'Hi {{1}}', positional: true, declared: ['a', 'b'] })).toEqual([
      { code: 'unused_variable', variable: '2' },
    ]);
  });
});
