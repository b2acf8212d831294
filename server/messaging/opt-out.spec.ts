import { describe, expect, it } from 'vitest';
import { optIntent } from './opt-out.ts';

describe('opt-out keywords', () => {
  it('read every SMS/WhatsApp stop word alone, in any case, with trailing punctuation', () => {
    for (const w of ['STOP', 'stopall', 'Unsubscribe', 'end', 'QUIT', 'cancel', 'revoke', 'optout', ' stop. ', 'STOP!'])
      expect(optIntent('sms', w), w).toBe('stop');
    expect(optIntent('whatsapp', 'stop')).toBe('stop');
    expect(optIntent('sms', 'START')).toBe('start');
    expect(optIntent('sms', 'unstop')).toBe('start');
  });

  it('ignore a stop word inside a sentence, other channels and empty texts', () => {
    expect(optIntent('sms', 'please stop calling me')).toBeNull();
    expect(optIntent('sms', 'the end is near')).toBeNull();
    expect(optIntent('sms', '/stop')).toBeNull();
    expect(optIntent('discord', 'STOP')).toBeNull();
    expect(optIntent('email', 'STOP')).toBeNull();
    expect(optIntent('sms', null)).toBeNull();
  });

  it('read Telegram /stop and /start commands, also addressed to a bot, and nothing else', () => {
    expect(optIntent('telegram', '/stop')).toBe('stop');
    expect(optIntent('telegram', '/STOP@FiloBot')).toBe('stop');
    expect(optIntent('telegram', '/start')).toBe('start');
    expect(optIntent('telegram', 'STOP')).toBeNull();
    expect(optIntent('telegram', '/stopwatch')).toBeNull();
  });
});
