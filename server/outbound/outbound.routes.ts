import type { ErrorRequestHandler } from 'express';
import { actorOf } from '../auth/auth.middleware.ts';
import { ApiRouter } from '../http/routes.ts';
import { receiveFile } from '../http/upload.ts';
import { parseBody, parseQuery, idOf } from '../http/validate.ts';
import type { Services } from '../services.ts';
import { TokenHttpError } from './context.ts';
import { listOutbox } from './dev-outbox.ts';
import { newMessageInput, replyInput } from './outbound.service.ts';
import { sendingDomainInput } from './sending-domains.service.ts';
import { resolveQuery, signatureInput, signaturePatch } from './signatures.service.ts';
import { renderInput, templateInput, templatePatch } from './templates.service.ts';

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

  r.post('/conversations/:id/replies', async (req, res) => {
    const id = idOf(req.params.id);
    res.status(202).json(await s.outbound.reply(actorOf(req), id, parseBody(replyInput, req)));
  });
  r.post('/messages', async (req, res) => {
    res.status(202).json(await s.outbound.start(actorOf(req), parseBody(newMessageInput, req)));
  });
  r.get('/messages/:id/delivery', async (req, res) => {
    res.json(await s.outbound.get(actorOf(req), idOf(req.params.id)));
  });
  r.post('/messages/:id/retry', async (req, res) => {
    res.status(202).json(await s.outbound.retry(actorOf(req), idOf(req.params.id)));
  });
  r.post('/uploads', async (req, res) => {
    const actor = actorOf(req);
    res.status(201).json(await receiveFile(req, (_fields, file) => s.outbound.upload(actor, file)));
  });

  r.get('/templates', async (req, res) => {
    res.json({ items: await s.templates.list(actorOf(req)) });
  });
  r.post('/templates', async (req, res) => {
    res.status(201).json(await s.templates.create(actorOf(req), parseBody(templateInput, req)));
  });
  r.get('/templates/:id', async (req, res) => {
    res.json(await s.templates.get(actorOf(req), idOf(req.params.id)));
  });
  r.patch('/templates/:id', async (req, res) => {
    const id = idOf(req.params.id);
    res.json(await s.templates.update(actorOf(req), id, parseBody(templatePatch, req)));
  });
  r.delete('/templates/:id', async (req, res) => {
    await s.templates.remove(actorOf(req), idOf(req.params.id));
    res.status(204).end();
  });
  r.post('/templates/:id/render', async (req, res) => {
    const id = idOf(req.params.id);
    res.json(await s.templates.render(actorOf(req), id, parseBody(renderInput, req)));
  });

  r.get('/signatures', async (req, res) => {
    res.json({ items: await s.signatures.list(actorOf(req)) });
  });
  r.get('/signatures/default', async (req, res) => {
    const q = parseQuery(resolveQuery, req);
    res.json({ signature: await s.signatures.resolve(actorOf(req), q.mailboxId) });
  });
  r.post('/signatures', async (req, res) => {
    res.status(201).json(await s.signatures.create(actorOf(req), parseBody(signatureInput, req)));
  });
  r.patch('/signatures/:id', async (req, res) => {
    const id = idOf(req.params.id);
    res.json(await s.signatures.update(actorOf(req), id, parseBody(signaturePatch, req)));
  });
  r.delete('/signatures/:id', async (req, res) => {
    await s.signatures.remove(actorOf(req), idOf(req.params.id));
    res.status(204).end();
  });

  r.get('/sending-domains', async (req, res) => {
    res.json({ items: await s.sendingDomains.list(actorOf(req)) });
  });
  r.post('/sending-domains', async (req, res) => {
    res.status(201).json(await s.sendingDomains.add(actorOf(req), parseBody(sendingDomainInput, req)));
  });
  r.post('/sending-domains/:id/verify', async (req, res) => {
    res.json(await s.sendingDomains.verify(actorOf(req), idOf(req.params.id)));
  });
  r.delete('/sending-domains/:id', async (req, res) => {
    await s.sendingDomains.remove(actorOf(req), idOf(req.params.id));
    res.status(204).end();
  });

  r.router.use(tokenErrors);
  return r;
}

/** Development helpers: the outbox of mail kept instead of sent. */
export function devRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/dev');
  r.get('/outbox', async (req, res) => {
    res.json({ items: await listOutbox(actorOf(req), s.mailer), sending: false });
  });
  return r;
}
