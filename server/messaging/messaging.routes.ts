import { z } from 'zod';
import {
  composeContext,
  messageTemplate,
  messageTemplateInput,
  messageTemplateList,
  messagingAccount,
  messagingAccountInput,
  messagingAccountList,
  messagingAccountPatch,
  messagingProvider,
  sendMessageInput,
  sentMessage,
} from '#contracts/messaging';
import { actorOf } from '../auth/auth.middleware.ts';
import { ApiRouter } from '../http/routes.ts';
import { idOf, parseBody, parseQuery } from '../http/validate.ts';
import type { MessagingServices } from './messaging.module.ts';
import { availableProviders } from './providers/registry.ts';

const templateUpdate = messageTemplateInput.extend({ version: z.number().int() });
const templateQuery = z.object({ channel: z.string().max(20).optional() });
const providerList = z.object({ items: z.array(messagingProvider) });

/** Messaging accounts, templates and sending (issue 19); the providers' webhooks are in webhooks.routes.ts. */
export function messagingRoutes(s: MessagingServices): ApiRouter {
  const r = new ApiRouter('/messaging');

  r.get('/providers', { summary: 'The messaging providers this Filo speaks', response: providerList }, (_req, res) => {
    res.json({ items: availableProviders() });
  });

  r.get('/accounts', { summary: 'Messaging accounts', response: messagingAccountList }, async (req, res) => {
    res.json({ items: await s.messagingAccounts.list(actorOf(req)) });
  });
  r.post(
    '/accounts',
    {
      summary: 'Connect a messaging account (owners and admins; credentials are never returned)',
      body: messagingAccountInput,
      response: messagingAccount,
      status: 201,
    },
    async (req, res) => {
      res.status(201).json(await s.messagingAccounts.create(actorOf(req), parseBody(messagingAccountInput, req)));
    },
  );
  r.get('/accounts/:id', { summary: 'A messaging account', response: messagingAccount }, async (req, res) => {
    res.json(await s.messagingAccounts.get(actorOf(req), idOf(req.params.id)));
  });
  r.patch(
    '/accounts/:id',
    { summary: 'Change a messaging account', body: messagingAccountPatch, response: messagingAccount },
    async (req, res) => {
      res.json(
        await s.messagingAccounts.update(actorOf(req), idOf(req.params.id), parseBody(messagingAccountPatch, req)),
      );
    },
  );
  r.delete(
    '/accounts/:id',
    { summary: 'Remove a messaging account with its conversations', response: 'empty' },
    async (req, res) => {
      await s.messagingAccounts.remove(actorOf(req), idOf(req.params.id));
      res.status(204).end();
    },
  );

  r.get(
    '/templates',
    { summary: 'Message templates', query: templateQuery, response: messageTemplateList },
    async (req, res) => {
      const q = parseQuery(templateQuery, req);
      res.json({ items: await s.messageTemplates.list(actorOf(req), q.channel) });
    },
  );
  r.post(
    '/templates',
    { summary: 'Add a message template', body: messageTemplateInput, response: messageTemplate, status: 201 },
    async (req, res) => {
      res.status(201).json(await s.messageTemplates.create(actorOf(req), parseBody(messageTemplateInput, req)));
    },
  );
  r.patch(
    '/templates/:id',
    { summary: 'Change a message template', body: templateUpdate, response: messageTemplate },
    async (req, res) => {
      res.json(await s.messageTemplates.update(actorOf(req), idOf(req.params.id), parseBody(templateUpdate, req)));
    },
  );
  r.delete('/templates/:id', { summary: 'Delete a message template', response: 'empty' }, async (req, res) => {
    await s.messageTemplates.remove(actorOf(req), idOf(req.params.id));
    res.status(204).end();
  });

  r.post(
    '/messages',
    {
      summary: 'Send a message on a messaging conversation, or a first one to a party (queued; ticks follow live)',
      body: sendMessageInput,
      response: sentMessage,
      status: 202,
    },
    async (req, res) => {
      res.status(202).json(await s.messagingOutbound.send(actorOf(req), parseBody(sendMessageInput, req)));
    },
  );
  r.get(
    '/conversations/:id/compose',
    {
      summary: 'What the composer of a messaging conversation needs (WhatsApp window, templates)',
      response: composeContext,
    },
    async (req, res) => {
      res.json(await s.messagingOutbound.context(actorOf(req), idOf(req.params.id)));
    },
  );
  return r;
}
