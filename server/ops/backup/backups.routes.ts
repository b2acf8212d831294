import { backupList } from '#contracts/backups';
import { ApiRouter } from '../../http/routes.ts';
import { actorOf } from '../../auth/auth.middleware.ts';
import type { BackupsService } from './backups.service.ts';

export function backupsRoutes(backups: BackupsService): ApiRouter {
  const r = new ApiRouter('/ops');
  r.get(
    '/backups',
    {
      summary: 'The backups in $DATA_DIR/backups, newest first, and their schedule (owners and admins)',
      response: backupList,
    },
    async (req, res) => {
      res.json(await backups.list(actorOf(req)));
    },
  );
  return r;
}
