import type { ErrorRequestHandler } from 'express';
import { actorOf } from '../auth/auth.middleware.ts';
import { ApiRouter } from '../http/routes.ts';
import { receiveFile } from '../http/upload.ts';
import { parseBody, parseQuery, idOf } from '../http/validate.ts';
import type { Services } from '../services.ts';
import { TokenHttpError } from './context.ts';
import {
  defaultSignature,
  emailTemplate,
  newMessageInput,
  outbox,
  outboundMessage,
  renderedTemplate,
  renderInput,
  replyInput,
  resolveQuery,
  senderList,
  sendingDomain,
  sendingDomainInput,
  sendingDomainList,
  signature,
  signatureInput,
  signatureList,
  signaturePatch,
  templateInput,
  templateList,
  templatePatch,
  uploadedFile,
} from '#contracts/outbound';

/** A refused token answers 422 with where it is: `error.position = {field, line, column, offset, token}`. */
const tokenErrors: ErrorRequestHandler = (err, _req, res, next) => {
  if (!(err instanceof TokenHttpError) || res.headersSent) return next(err);
  res.status(err.status).json({
    error: { code: err.code, message: err.message, fields: err.fields, position: err.position },
  });
};

/** Replies, new messages, templates, signatures and sending domains of the shared inbox. */
export function outboundRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/inbox');

  const replySpec = { summary: 'Reply in a conversation (queued)', body: replyInput, response: outboundMessage };
  r.post('/conversations/:id/replies', { ...replySpec, status: 202 }, async (req, res) => {
    const id = idOf(req.params.id);
    res.status(202).json(await s.outbound.reply(actorOf(req), id, parseBody(replyInput, req)));
  });
  const newSpec = { summary: 'Start a conversation (queued)', body: newMessageInput, response: outboundMessage };
  r.post('/messages', { ...newSpec, status: 202 }, async (req, res) => {
    res.status(202).json(await s.outbound.start(actorOf(req), parseBody(newMessageInput, req)));
  });
  r.get('/senders', { summary: 'The Froms this user may send as', response: senderList }, async (req, res) => {
    res.json({ items: await s.outbound.senders(actorOf(req)) });
  });
  r.get(
    '/messages/:id/delivery',
    { summary: 'An outgoing message and its delivery', response: outboundMessage },
    async (req, res) => {
      res.json(await s.outbound.get(actorOf(req), idOf(req.params.id)));
    },
  );
  const retrySpec = { summary: 'Send a failed message again', response: outboundMessage, status: 202 };
  r.post('/messages/:id/retry', retrySpec, async (req, res) => {
    res.status(202).json(await s.outbound.retry(actorOf(req), idOf(req.params.id)));
  });
  r.post(
    '/uploads',
    { summary: 'Upload a file for a message (multipart)', response: uploadedFile, status: 201 },
    async (req, res) => {
      const actor = actorOf(req);
      res.status(201).json(await receiveFile(req, (_fields, file) => s.outbound.upload(actor, file)));
    },
  );

  r.get('/templates', { summary: 'List templates', response: templateList }, async (req, res) => {
    res.json({ items: await s.templates.list(actorOf(req)) });
  });
  const templateSpec = { summary: 'Create a template', body: templateInput, response: emailTemplate, status: 201 };
  r.post('/templates', templateSpec, async (req, res) => {
    res.status(201).json(await s.templates.create(actorOf(req), parseBody(templateInput, req)));
  });
  r.get('/templates/:id', { summary: 'A template', response: emailTemplate }, async (req, res) => {
    res.json(await s.templates.get(actorOf(req), idOf(req.params.id)));
  });
  r.patch(
    '/templates/:id',
    { summary: 'Change a template', body: templatePatch, response: emailTemplate },
    async (req, res) => {
      const id = idOf(req.params.id);
      res.json(await s.templates.update(actorOf(req), id, parseBody(templatePatch, req)));
    },
  );
  r.delete('/templates/:id', { summary: 'Delete a template', response: 'empty' }, async (req, res) => {
    await s.templates.remove(actorOf(req), idOf(req.params.id));
    res.status(204).end();
  });
  const renderSpec = { summary: 'Fill in a template', body: renderInput, response: renderedTemplate };
  r.post('/templates/:id/render', renderSpec, async (req, res) => {
    const id = idOf(req.params.id);
    res.json(await s.templates.render(actorOf(req), id, parseBody(renderInput, req)));
  });

  r.get('/signatures', { summary: 'Signatures this user may use', response: signatureList }, async (req, res) => {
    res.json({ items: await s.signatures.list(actorOf(req)) });
  });
  const defaultSpec = {
    summary: 'The signature a mailbox composer starts with',
    query: resolveQuery,
    response: defaultSignature,
  };
  r.get('/signatures/default', defaultSpec, async (req, res) => {
    const q = parseQuery(resolveQuery, req);
    res.json({ signature: await s.signatures.resolve(actorOf(req), q.mailboxId) });
  });
  const signatureSpec = { summary: 'Create a signature', body: signatureInput, response: signature, status: 201 };
  r.post('/signatures', signatureSpec, async (req, res) => {
    res.status(201).json(await s.signatures.create(actorOf(req), parseBody(signatureInput, req)));
  });
  r.patch(
    '/signatures/:id',
    { summary: 'Change a signature', body: signaturePatch, response: signature },
    async (req, res) => {
      const id = idOf(req.params.id);
      res.json(await s.signatures.update(actorOf(req), id, parseBody(signaturePatch, req)));
    },
  );
  r.delete('/signatures/:id', { summary: 'Delete a signature', response: 'empty' }, async (req, res) => {
    await s.signatures.remove(actorOf(req), idOf(req.params.id));
    res.status(204).end();
  });

  r.get('/sending-domains', { summary: 'Sending domains', response: sendingDomainList }, async (req, res) => {
    res.json({ items: await s.sendingDomains.list(actorOf(req)) });
  });
  const domainSpec = { summary: 'Add a sending domain', body: sendingDomainInput, response: sendingDomain };
  r.post('/sending-domains', { ...domainSpec, status: 201 }, async (req, res) => {
    res.status(201).json(await s.sendingDomains.add(actorOf(req), parseBody(sendingDomainInput, req)));
  });
  r.post(
    '/sending-domains/:id/verify',
    { summary: 'Check its DNS record now', response: sendingDomain },
    async (req, res) => {
      res.json(await s.sendingDomains.verify(actorOf(req), idOf(req.params.id)));
    },
  );
  r.delete('/sending-domains/:id', { summary: 'Remove a sending domain', response: 'empty' }, async (req, res) => {
    await s.sendingDomains.remove(actorOf(req), idOf(req.params.id));
    res.status(204).end();
  });

  r.router.use(tokenErrors);
  return r;
}

/** Development helpers: the outbox of mail kept instead of sent. */
export function devRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/dev');
  const kept = s.devOutbox;
  r.get(
    '/outbox',
    { summary: 'Mail kept instead of sent (development, admins), newest first', response: outbox },
    async (req, res) => {
      res.json({ items: await kept.list(actorOf(req)), sending: false });
    },
  );
  r.get(
    '/outbox/:id/raw',
    { summary: 'One kept message as written (development, admins)', response: { file: 'text/plain' } },
    async (req, res) => {
      const raw = await kept.raw(actorOf(req), String(req.params.id));
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Cache-Control', 'private, no-store');
      res.send(raw);
    },
  );
  return r;
}
