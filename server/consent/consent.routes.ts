import { actorOf } from '../auth/auth.middleware.ts';
import { ApiRouter } from '../http/routes.ts';
import { idOf, parseBody, parseQuery } from '../http/validate.ts';
import type { Services } from '../services.ts';
import {
  consentChangeInput,
  contactConsent,
  eraseInput,
  suppression,
  suppressionInput,
  suppressionPage,
  suppressionQuery,
} from '#contracts/consent';

/** Consent of a contact (evidence and history, changes by hand), the suppression list, and GDPR export and erasure. */
export function consentRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('');
  r.get(
    '/contacts/:id/consent',
    { summary: "A contact's consent per channel, address and list, with its evidence", response: contactConsent },
    async (req, res) => {
      res.json(await s.consentAdmin.forContact(actorOf(req), idOf(req.params.id, 'Contact')));
    },
  );
  r.put(
    '/contacts/:id/consent',
    { summary: "Change a contact's consent by hand", body: consentChangeInput, response: contactConsent },
    async (req, res) => {
      const id = idOf(req.params.id, 'Contact');
      res.json(await s.consentAdmin.change(actorOf(req), id, parseBody(consentChangeInput, req)));
    },
  );
  r.get(
    '/contacts/:id/export',
    {
      summary: "A contact's data (GDPR export): a ZIP of contact.json and files/",
      response: { file: 'application/zip' },
    },
    async (req, res) => {
      const prepared = await s.gdpr.prepareExport(actorOf(req), idOf(req.params.id, 'Contact'));
      res.attachment(prepared.fileName);
      res.setHeader('Content-Type', 'application/zip');
      res.setHeader('Cache-Control', 'no-store');
      try {
        await prepared.write(res);
      } catch (err) {
        req.log?.error({ err }, 'export failed midway');
        res.destroy();
      }
    },
  );
  r.post(
    '/contacts/:id/erase',
    {
      summary: "Erase a contact's personal data (GDPR), confirmed by their email or name",
      body: eraseInput,
      response: 'empty',
    },
    async (req, res) => {
      const id = idOf(req.params.id, 'Contact');
      await s.gdpr.erase(actorOf(req), id, parseBody(eraseInput, req).confirm);
      res.status(204).end();
    },
  );
  r.get(
    '/consent/suppressions',
    { summary: 'Addresses nothing of a channel is sent to', query: suppressionQuery, response: suppressionPage },
    async (req, res) => {
      res.json(await s.consentAdmin.suppressions(actorOf(req), parseQuery(suppressionQuery, req)));
    },
  );
  r.post(
    '/consent/suppressions',
    { summary: 'Suppress an address by hand', body: suppressionInput, response: suppression, status: 201 },
    async (req, res) => {
      res.status(201).json(await s.consentAdmin.addSuppression(actorOf(req), parseBody(suppressionInput, req)));
    },
  );
  r.delete(
    '/consent/suppressions/:id',
    { summary: 'Lift a suppression (owners and admins; never an erasure)', response: 'empty' },
    async (req, res) => {
      await s.consentAdmin.removeSuppression(actorOf(req), idOf(req.params.id, 'Suppression'));
      res.status(204).end();
    },
  );
  return r;
}
