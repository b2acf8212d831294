// The send job: claims a queued message, sends it through the mailbox's transport (or a member's account), records the outcome.
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import type { AccessTokenSource } from '../accounts/connect.ts';
import type { AccountHealthService } from '../accounts/health.ts';
import { AccountConnectError, fileInSent, sendThroughAccount } from '../accounts/send.ts';
import { EmailAccountSchema, type EmailAccount } from '../../db/entities/email-account.entity.ts';
import type { MikroORM } from '../../db/orm.ts';
import { ConversationSchema } from '../../db/entities/conversation.entity.ts';
import { DocumentSchema } from '../../db/entities/document.entity.ts';
import { MessageSchema, type EmailAddress, emailOf } from '../../db/entities/message.entity.ts';
import { MailboxSchema } from '../../db/entities/mailbox.entity.ts';
import { OutboundDeliverySchema } from '../../db/entities/outbound-delivery.entity.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { Secrets } from '../crypto/secrets.ts';
import type { Publisher } from '../timeline/publisher.ts';
import type { Logger } from '../logger.ts';
import type { Mailer } from '../delivery/mailer.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { inTenant, systemActor, type Actor, type UnitOfWork } from '../tenancy.ts';
import { announceConversation } from './outbound-message.ts';
import { dkimOf, smtpOf } from '../delivery/transport-settings.ts';
import type { TrackingService } from './tracking.service.ts';

export const OUTBOUND_QUEUE = 'outbound.send';
export interface OutboundJob {
  messageId: string;
  tenantId: string;
}

/** The notice on a message sent from an account whose Sent folder did not take its copy. */
export const SENT_COPY_FAILED = 'sent_copy_failed';

/** What sending from members' accounts needs: their health (errors, the owner told) and OAuth2 access tokens. */
export interface SendJobAccounts {
  health: Pick<AccountHealthService, 'setHealth'>;
  oauth?: AccessTokenSource | undefined;
}

/** A send that stopped mid-way (a crashed worker) is tried again after this long. */
const STALE_SENDING_MS = 5 * 60_000;

const fmt = (a: EmailAddress[]) => a.map((x) => x.address).join(', ');

/** What nodemailer turns into spaces in an address (and its SMTP client refuses in an envelope). */
// eslint-disable-next-line no-control-regex
const UNSENDABLE = /[\u0000-\u001f\u007f<>]/;

/** Whether a send failure will not go away by trying again (the server refused for good). */
function permanent(err: unknown): boolean {
  const e = err as { responseCode?: number; code?: string };
  if (typeof e.responseCode === 'number') return e.responseCode >= 500;
  // Refused credentials, no TLS, a host Filo may not reach: only the account's owner can change that.
  if (err instanceof AccountConnectError) return err.kind !== 'network';
  // A refused host or a server without TLS (where a password would go in clear) will not change by itself.
  return ['EACCOUNT', 'EAUTH', 'EENVELOPE', 'EMESSAGE', 'ETARGETREFUSED', 'ETLS'].includes(e.code ?? '');
}

/** The account's own settings failed (login, TLS, a host Filo may not reach), not one message (a refused recipient). */
const accountAtFault = (err: AccountConnectError) =>
  err.kind === 'auth' || err.kind === 'tls' || (err.kind === 'refused' && !('responseCode' in err));

/** Kept apart from composing: it runs in the worker, as the system, outside any request. */
export class OutboundSendJob {
  readonly #orm: MikroORM;
  readonly #activities: ActivitiesService;
  readonly #publisher: Publisher;
  readonly #mailer: Mailer;
  readonly #blobs: BlobStore;
  readonly #secrets: Secrets;
  readonly #log: Logger;
  readonly #tracking: TrackingService | undefined;
  readonly #accounts: SendJobAccounts | undefined;

  constructor(deps: {
    orm: MikroORM;
    activities: ActivitiesService;
    publisher: Publisher;
    mailer: Mailer;
    blobs: BlobStore;
    secrets: Secrets;
    log: Logger;
    tracking?: TrackingService | undefined;
    accounts?: SendJobAccounts | undefined;
  }) {
    this.#orm = deps.orm;
    this.#activities = deps.activities;
    this.#publisher = deps.publisher;
    this.#mailer = deps.mailer;
    this.#blobs = deps.blobs;
    this.#secrets = deps.secrets;
    this.#log = deps.log;
    this.#tracking = deps.tracking;
    this.#accounts = deps.accounts;
  }

  /**
   * The send job: claims the message (queued -> sending), sends it outside any transaction, records the outcome.
   * A permanent refusal (5xx) or the last attempt marks it failed; a temporary one throws for pg-boss to retry.
   */
  async send(job: OutboundJob, opts: { final: boolean }): Promise<'sent' | 'failed' | 'skipped'> {
    const actor = systemActor(job.tenantId, 'Filo mail');
    const claimed = await inTenant(this.#orm, actor, async (uow) => {
      const [row] = (await uow.em.execute(
        `select status from messages where id = ? and direction = 'outbound' for update`,
        [job.messageId],
      )) as { status: string }[];
      if (!row) return null;
      const delivery = await uow.em.findOne(OutboundDeliverySchema, { id: job.messageId });
      const stale =
        row.status === 'sending' &&
        (!delivery?.lastAttemptAt || Date.now() - delivery.lastAttemptAt.getTime() > STALE_SENDING_MS);
      if (row.status !== 'queued' && !stale) return null;
      const message = (await uow.em.findOne(MessageSchema, { id: job.messageId }))!;
      const mailbox = (await uow.em.findOne(MailboxSchema, { id: message.mailboxId }))!;
      // A message whose account was removed meanwhile fails: it never leaves through another server as that address.
      const account = delivery?.accountId
        ? await uow.em.findOne(EmailAccountSchema, { id: delivery.accountId })
        : undefined;
      const docs = message.attachments.length
        ? await uow.em.find(DocumentSchema, { id: { $in: message.attachments.map((a) => a.documentId) } })
        : [];
      message.status = 'sending';
      // As sent: the writer's remote images load; a tracking mailbox adds its pixel and tracked links.
      let html = message.html
        ? message.html.replace(/\sdata-remote-src="/g, ' src="').replace(/\sdata-remote-background="/g, ' background="')
        : null;
      if (html && this.#tracking) {
        const tracked = this.#tracking.apply(html, message.id, mailbox);
        html = tracked.html;
        message.trackedLinks = tracked.links;
      }
      if (delivery) {
        delivery.attempts += 1;
        delivery.lastAttemptAt = new Date();
      }
      await uow.em.flush();
      return { message, mailbox, delivery, docs, html, account };
    });
    if (!claimed) return 'skipped';
    const { message, mailbox, delivery, docs, html, account } = claimed;
    const fromAddress = message.fromAddress!;
    const email = emailOf(message);
    const bracket = (id: string) => `<${id}>`;
    const mail: Mail.Options = {
      from: { name: message.fromName ?? '', address: fromAddress },
      replyTo: delivery?.replyTo ?? fromAddress,
      to: email.to.map((a) => (a.name ? { name: a.name, address: a.address } : a.address)),
      cc: email.cc.map((a) => a.address),
      bcc: (delivery?.bcc ?? []).map((a) => a.address),
      subject: message.subject,
      text: message.text ?? '',
      ...(html ? { html } : {}),
      messageId: bracket(message.messageIdHeader!),
      ...(email.inReplyTo ? { inReplyTo: bracket(email.inReplyTo) } : {}),
      ...(email.references.length ? { references: email.references.map(bracket) } : {}),
      date: new Date(),
      ...(delivery && Object.keys(delivery.headers).length ? { headers: delivery.headers } : {}),
      attachments: docs.map((d) => ({
        filename: d.fileName,
        contentType: d.fileType ?? 'application/octet-stream',
        content: this.#blobs.open(d.fileUrl.replace(/^blob:/, '')),
      })),
    };
    try {
      // `"a<b>c"@x` would go out as `"a b c"@x`, someone else's mailbox: refused for good instead.
      const unsendable = [...email.to, ...email.cc, ...(delivery?.bcc ?? [])].find((a) => UNSENDABLE.test(a.address));
      if (unsendable)
        throw Object.assign(new Error(`${unsendable.address}: an address with < or > cannot be sent to exactly`), {
          code: 'EENVELOPE',
        });
      if (account !== undefined) {
        const sent = await this.#viaAccount(account, mail);
        await inTenant(this.#orm, actor, async (uow) => {
          await this.#sent(uow, message.id, sent.result);
          // the account's SMTP worked: a refused SMTP login it showed is over (a failing sync's error stays)
          await this.#accounts?.health.setHealth(uow, sent.account.id, { side: 'smtp', ok: true });
        });
        // After the send is recorded: a Sent folder that fails leaves a notice, never a second send.
        if (!sent.account.providerSavesSent) await this.#fileCopy(job.tenantId, sent.account, message.id, sent.bytes);
        return 'sent';
      }
      const dkim = dkimOf(mailbox, fromAddress, this.#secrets);
      if (dkim) mail.dkim = dkim;
      const result = await this.#mailer.deliver(mail, {
        smtp: smtpOf(mailbox, this.#secrets),
        tenantId: job.tenantId,
      });
      await inTenant(this.#orm, actor, (uow) => this.#sent(uow, message.id, result));
      return 'sent';
    } catch (err) {
      const e = err as { message?: string; response?: string; responseCode?: number };
      const words = err instanceof AccountConnectError ? err.serverMessage : e.response || e.message;
      const reason = (words || String(err)).slice(0, 2000);
      const giveUp = permanent(err) || opts.final;
      this.#log.warn({ messageId: message.id, reason, giveUp }, 'outbound message not sent');
      // The account's own server refused it (credentials, TLS): its health says so, and its owner hears of a login.
      if (account && err instanceof AccountConnectError && accountAtFault(err) && this.#accounts)
        await this.#accounts.health
          .setHealth(job.tenantId, account.id, {
            status: 'error',
            lastError: reason,
            authFailed: err.kind === 'auth',
            side: err.side,
          })
          .catch((failure: unknown) => this.#log.error({ err: failure }, 'account health not recorded'));
      await inTenant(this.#orm, actor, async (uow) => {
        const row = await uow.em.findOne(MessageSchema, { id: message.id });
        if (!row) return;
        row.status = giveUp ? 'failed' : 'queued';
        row.error = giveUp ? reason : `${reason} (trying again shortly)`;
        const d = await uow.em.findOne(OutboundDeliverySchema, { id: message.id });
        if (d) d.response = reason;
        await uow.em.flush();
        const conversation = await uow.em.findOne(ConversationSchema, { id: row.conversationId });
        if (conversation)
          announceConversation(
            this.#publisher,
            uow,
            conversation,
            { messageId: row.id, status: row.status, error: row.error },
            'updated',
          );
      });
      if (!giveUp) throw err;
      return 'failed';
    }
  }

  /** The exact bytes, composed once: what the account's server receives is what its Sent folder gets. */
  async #viaAccount(
    account: EmailAccount | null,
    mail: Mail.Options,
  ): Promise<{ account: EmailAccount; bytes: Buffer; result: { transport: string; response: string } }> {
    if (!account)
      throw Object.assign(new Error('The email account this message was to be sent from was removed'), {
        code: 'EACCOUNT',
      });
    const node = new MailComposer(mail).compile();
    const envelope = node.getEnvelope();
    const bytes = await node.build();
    const sent = await sendThroughAccount(
      account,
      bytes,
      { from: envelope.from || account.email, to: envelope.to },
      this.#connectDeps(),
    );
    return { account, bytes, result: { transport: 'account', response: sent.response } };
  }

  #connectDeps() {
    return {
      secrets: this.#secrets,
      targets: this.#mailer.smtpTargets,
      log: this.#log,
      ...(this.#accounts?.oauth ? { oauth: this.#accounts.oauth } : {}),
    };
  }

  /** The copy in the account's Sent folder (its UID kept); a failure becomes a notice on the message and its health. */
  async #fileCopy(tenantId: string, account: EmailAccount, messageId: string, bytes: Buffer): Promise<void> {
    const actor = systemActor(tenantId, 'Filo mail');
    try {
      const copy = await fileInSent(account, bytes, this.#connectDeps());
      await inTenant(this.#orm, actor, async (uow) => {
        const delivery = await uow.em.findOne(OutboundDeliverySchema, { id: messageId });
        if (!delivery) return;
        delivery.sentCopyFolder = copy.folder;
        delivery.sentCopyUidValidity = copy.uidValidity;
        delivery.sentCopyUid = copy.uid;
        await uow.em.flush();
      });
    } catch (err) {
      const reason = (err instanceof AccountConnectError ? err.serverMessage : (err as Error).message).slice(0, 1000);
      this.#log.warn({ messageId, accountId: account.id, reason }, 'sent message not filed in the Sent folder');
      await inTenant(this.#orm, actor, async (uow) => {
        const message = await uow.em.findOne(MessageSchema, { id: messageId });
        if (message && !message.notices.includes(SENT_COPY_FAILED)) {
          message.notices = [...message.notices, SENT_COPY_FAILED];
          await uow.em.flush();
          const conversation = await uow.em.findOne(ConversationSchema, { id: message.conversationId });
          if (conversation)
            announceConversation(
              this.#publisher,
              uow,
              conversation,
              { messageId, notices: message.notices },
              'updated',
            );
        }
        await this.#accounts?.health.setHealth(uow, account.id, {
          status: 'error',
          lastError: `Sent mail was not filed in the Sent folder: ${reason}`,
        });
      }).catch((failure: unknown) => this.#log.error({ err: failure }, 'Sent folder failure not recorded'));
    }
  }

  async #sent(uow: UnitOfWork, id: string, result: { transport: string; response: string }) {
    const { em } = uow;
    const message = (await em.findOne(MessageSchema, { id }))!;
    message.status = 'sent';
    message.error = null;
    message.sentAt = new Date();
    const delivery = await em.findOne(OutboundDeliverySchema, { id });
    if (delivery) {
      delivery.response = result.response.slice(0, 2000);
      delivery.transport = result.transport;
    }
    await em.flush();
    const to = fmt(emailOf(message).to);
    // The timeline names the agent who wrote it, not the job that sent it.
    let author: Actor = uow.actor;
    if (message.sentBy) {
      const [user] = (await em.execute(`select name from users where id = ?`, [message.sentBy])) as { name: string }[];
      author = { ...uow.actor, userId: message.sentBy, userName: user?.name ?? '' };
      delete author.system;
    }
    await this.#activities.record(
      { ...uow, actor: author },
      {
        entityType: message.contactId ? 'contact' : message.companyId ? 'company' : 'conversation',
        entityId: message.contactId ?? message.companyId ?? message.conversationId,
        companyId: message.companyId ?? null,
        type: 'email.sent',
        title: `Email to ${to}: ${message.subject}`,
        description: (message.text ?? '').replace(/\s+/g, ' ').trim().slice(0, 200),
        data: {
          conversationId: message.conversationId,
          emailMessageId: message.id,
          mailboxId: message.mailboxId,
          messageId: message.messageIdHeader,
          to: emailOf(message).to,
          cc: emailOf(message).cc,
          subject: message.subject,
          attachments: message.attachments.length,
          transport: result.transport,
          sentBy: message.sentBy ? { id: message.sentBy, name: author.userName } : null,
        },
      },
    );
    const conversation = await em.findOne(ConversationSchema, { id: message.conversationId });
    if (conversation)
      announceConversation(this.#publisher, uow, conversation, { messageId: id, status: 'sent' }, 'updated');
  }
}
