import type { DomainJobs } from '../jobs/queue.ts';
import type { UnreadMail } from './unread-mail.ts';

export const UNREAD_MAIL_QUEUE = 'notify.unread-mail';

/** Every minute: notices left unread past each member's delay (or at their digest time) go out by email. */
export function notifyJobs(deps: { unreadMail: Pick<UnreadMail, 'run'> }): DomainJobs {
  return {
    async queues(boss) {
      await boss.createQueue(UNREAD_MAIL_QUEUE);
    },
    async work(boss, log) {
      await boss.schedule(UNREAD_MAIL_QUEUE, '* * * * *');
      await boss.work(UNREAD_MAIL_QUEUE, async () => {
        const sent = await deps.unreadMail.run(new Date());
        if (sent.mails) log.info(sent, 'unread notices emailed');
        return sent;
      });
    },
  };
}
