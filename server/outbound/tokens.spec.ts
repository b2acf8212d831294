import { describe, expect, it } from 'vitest';
import { parseTokens, positionOf, renderTokens, TokenError } from './tokens.ts';

const errorOf = (text: string): TokenError => {
  try {
    parseTokens(text);
  } catch (err) {
    if (err instanceof TokenError) return err;
    throw err;
  }
  throw new Error(`no error for ${text}`);
};

describe('template tokens', () => {
  it('render values, fallbacks for empty ones, and leave single braces alone', () => {
    const values = { 'contact.first_name': 'Giulia', 'company.name': '  ' };
    expect(renderTokens('Ciao {{contact.first_name}}!', values)).toBe('Ciao Giulia!');
    expect(renderTokens('{{ company.name | "la vostra azienda" }}', values)).toBe('la vostra azienda');
    expect(renderTokens("{{contact.last_name|'there'}}", values)).toBe('there');
    expect(renderTokens('{{user.name}}.', values)).toBe('.');
    expect(renderTokens('{"json": {x} } and { braces }', values)).toBe('{"json": {x} } and { braces }');
    expect(renderTokens('{{contact.first_name | "say \\"hi\\""}}', {})).toBe('say "hi"');
  });

  it('refuse unknown names and unbalanced or malformed braces, at their line and column', () => {
    expect(errorOf('a\nb {{contact.age}}')).toMatchObject({
      reason: 'unknown',
      token: '{{contact.age}}',
      position: { line: 2, column: 3, offset: 4 },
    });
    expect(errorOf('x {{contact.first_name')).toMatchObject({ reason: 'malformed', position: { column: 3 } });
    expect(errorOf('{{a {{contact.first_name}}')).toMatchObject({ reason: 'malformed', position: { offset: 0 } });
    expect(errorOf('done }}')).toMatchObject({ reason: 'malformed', position: { column: 6 } });
    expect(errorOf('{{contact.first_name | there}}')).toMatchObject({ reason: 'malformed' });
    expect(errorOf('{{}}')).toMatchObject({ reason: 'malformed' });
  });

  it('count columns from 1 and lines by newlines', () => {
    expect(positionOf('ab\ncd', 4)).toEqual({ offset: 4, line: 2, column: 2 });
    expect(positionOf('ab', 0)).toEqual({ offset: 0, line: 1, column: 1 });
  });
});
