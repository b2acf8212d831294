import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { classify } from '../../mail/classify.ts';
import { parseMail } from '../../mail/parse.ts';
import { arfReport, postfixDsn, type SentHeaders } from '../support/bulk-mail.ts';
import { recordingStore } from './support.ts';

const TOKEN = 'abcdefghijklmnopqrstuvwxyz234567abcdefghijklmno';
const SENT: SentHeaders = {
  returnPath: `b+${TOKEN}@demo.inbound.localhost`,
  listUnsubscribe: `<https://crm.example.com/u/${TOKEN}>, <mailto:u+${TOKEN}@demo.inbound.localhost>`,
  messageId: 'bulk.7f3c@demo.inbound.localhost',
  to: 'anna@customer.example',
};

const parse = (raw: string) => parseMail(Readable.from([Buffer.from(raw)]), recordingStore());

describe('ARF spam complaints (RFC 5965)', () => {
  it('reads a Yahoo report: feedback type, agent, the Original-Mail-From and the whole original returned', async () => {
    const mail = await parse(arfReport('yahoo', { to: 'fbl@demo.inbound.localhost', sent: SENT }));
    expect(mail.feedbackReport).toContain('Feedback-Type: abuse');
    expect(classify(mail, { mailFrom: 'feedback@arf.mail.yahoo.com' })).toEqual({
      kind: 'complaint',
      feedbackType: 'abuse',
      userAgent: 'Yahoo!-Mail-Feedback/2.0',
      recipients: [],
      original: {
        mailFrom: `<${SENT.returnPath}>`,
        returnPath: `<${SENT.returnPath}>`,
        listUnsubscribe: SENT.listUnsubscribe,
        messageId: SENT.messageId,
      },
    });
  });

  it('reads a Gmail report with only the headers returned and the recipient redacted', async () => {
    const mail = await parse(arfReport('gmail', { to: 'fbl@demo.inbound.localhost', sent: SENT }));
    const kind = classify(mail, { mailFrom: 'fbl-noreply@google.com' });
    expect(kind).toMatchObject({
      kind: 'complaint',
      feedbackType: 'abuse',
      recipients: [],
      original: { mailFrom: null, returnPath: null, listUnsubscribe: SENT.listUnsubscribe, messageId: SENT.messageId },
    });
  });

  it('reads a Microsoft JMRP report whose original kept only its Message-ID', async () => {
    const mail = await parse(arfReport('microsoft', { to: 'fbl@demo.inbound.localhost', sent: SENT }));
    expect(classify(mail, { mailFrom: 'staff@hotmail.com' })).toMatchObject({
      kind: 'complaint',
      userAgent: 'Microsoft JMRP/1.0',
      original: { mailFrom: null, returnPath: null, listUnsubscribe: null, messageId: SENT.messageId },
    });
  });

  it('is a complaint even from the null sender (never taken for a bounce), and with a report given as text', async () => {
    const mail = await parse(arfReport('yahoo', { to: 'fbl@demo.inbound.localhost', sent: SENT }));
    expect(classify(mail, { mailFrom: '' }).kind).toBe('complaint');
    const textOnly = classify(
      {
        headers: new Map([['content-type', ['multipart/report; report-type=feedback-report; boundary=x']]]),
        subject: 'abuse report',
        from: { address: 'fbl@isp.example', name: '' },
        text: 'Feedback-Type: fraud\nUser-Agent: SomeISP/1\nVersion: 1\n',
        deliveryStatus: null,
      },
      { mailFrom: 'fbl@isp.example' },
    );
    expect(textOnly).toMatchObject({ kind: 'complaint', feedbackType: 'fraud', userAgent: 'SomeISP/1' });
  });

  it('leaves delivery reports and list mail as they were', async () => {
    const dsn = await parse(postfixDsn({ to: SENT.returnPath!, recipient: SENT.to, sent: SENT }));
    expect(classify(dsn, { mailFrom: '' })).toMatchObject({
      kind: 'bounce',
      permanent: true,
      originalMessageId: SENT.messageId,
      failures: [{ recipient: 'anna@customer.example', status: '5.1.1', permanent: true }],
    });
    const delayed = await parse(postfixDsn({ to: SENT.returnPath!, recipient: SENT.to, sent: SENT, delayed: true }));
    expect(classify(delayed, { mailFrom: '' })).toMatchObject({
      kind: 'bounce',
      permanent: false,
      failures: [{ recipient: 'anna@customer.example', status: '4.4.1', permanent: false }],
    });
    const list = classify(
      {
        headers: new Map([['list-unsubscribe', ['<mailto:leave@lists.example.org>']]]),
        subject: 'Weekly digest',
        from: { address: 'digest@lists.example.org', name: '' },
        text: 'Feedback-Type: abuse',
        deliveryStatus: null,
      },
      { mailFrom: 'digest@lists.example.org' },
    );
    expect(list).toEqual({ kind: 'auto_reply', reason: 'list' });
  });
});
