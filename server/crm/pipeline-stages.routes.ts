import { pipelineStages, pipelineStagesInput } from '#contracts/pipeline';
import type { ApiRouter } from '../http/routes.ts';
import { parseBody } from '../http/validate.ts';
import { actorOf } from '../auth/auth.middleware.ts';
import type { Services } from '../services.ts';

export function pipelineStageRoutes(r: ApiRouter, s: Services): void {
  r.get(
    '/pipeline/stages',
    { summary: "The workspace's deal stages, in order, with the list's version", response: pipelineStages },
    async (req, res) => {
      res.json(await s.records.stages.list(actorOf(req)));
    },
  );
  r.put(
    '/pipeline/stages',
    {
      summary: 'Replace the ordered stages (admins); deals of a removed stage move where `moves` says',
      body: pipelineStagesInput,
      response: pipelineStages,
    },
    async (req, res) => {
      res.json(await s.records.stages.replace(actorOf(req), parseBody(pipelineStagesInput, req)));
    },
  );
}
