import { z } from 'zod';
import { invitation } from '#contracts/team';
import { pendingInvitationList, workspacePatch, workspaceSettings } from '#contracts/settings';
import { ApiRouter } from '../http/routes.ts';
import { notFound } from '../http/errors.ts';
import { parseBody } from '../http/validate.ts';
import { actorOf } from '../auth/auth.middleware.ts';
import { requireRole, requireWrite } from '../tenancy.ts';
import type { Services } from '../services.ts';

const idParam = z.object({ id: z.uuid() });

/** Workspace settings and logo; pending invitations with resend and revoke. */
export function workspaceRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/team');

  r.get(
    '/workspace',
    { summary: 'The workspace’s settings (every member)', response: workspaceSettings },
    async (req, res) => {
      res.json(await s.workspace.get(actorOf(req)));
    },
  );
  const patchSpec = {
    summary: 'Change the workspace’s settings (owners and admins): only the fields sent change, the last write wins',
    body: workspacePatch,
    response: workspaceSettings,
  };
  r.patch('/workspace', patchSpec, async (req, res) => {
    const actor = actorOf(req);
    // Members are refused before their input is read: a 403 says more than a 400 about a form they cannot use.
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    res.json(await s.workspace.update(actor, parseBody(workspacePatch, req)));
  });
  const logoSpec = {
    summary: 'Set the workspace’s logo (owners and admins; multipart `file`: PNG, JPEG or WebP, at most 2 MB)',
    response: workspaceSettings,
  };
  r.post('/workspace/logo', logoSpec, async (req, res) => {
    const actor = actorOf(req);
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    const key = await s.pictures.receive(req, 'logos');
    res.json(await s.workspace.setLogo(actor, key));
  });
  r.delete('/workspace/logo', { summary: 'Remove the workspace’s logo', response: 'empty' }, async (req, res) => {
    await s.workspace.setLogo(actorOf(req), null);
    res.status(204).end();
  });
  r.get(
    '/workspace/logo',
    { summary: 'The workspace’s logo (members)', response: { file: 'image/*' } },
    async (req, res) => {
      const key = await s.workspace.logoKey(actorOf(req));
      if (!key) throw notFound('Logo');
      await s.pictures.send(res, key);
    },
  );

  r.get(
    '/invitations',
    { summary: 'Invitations not accepted yet (owners and admins)', response: pendingInvitationList },
    async (req, res) => {
      res.json({ items: await s.invitations.pending(actorOf(req)) });
    },
  );
  const resendSpec = {
    summary: 'Resend an invitation with a new link (the old one stops working) and a new week (owners and admins)',
    response: invitation,
  };
  r.post('/invitations/:id/resend', resendSpec, async (req, res) => {
    const params = idParam.safeParse(req.params);
    if (!params.success) throw notFound('Invitation');
    res.json(await s.invitations.resend(actorOf(req), params.data.id));
  });
  const revokeSpec = { summary: 'Revoke an invitation: its link stops working at once', response: 'empty' } as const;
  r.delete('/invitations/:id', revokeSpec, async (req, res) => {
    const params = idParam.safeParse(req.params);
    if (!params.success) throw notFound('Invitation');
    await s.invitations.revoke(actorOf(req), params.data.id);
    res.status(204).end();
  });

  return r;
}
