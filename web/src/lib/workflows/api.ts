/** Typed calls to the workflows endpoints (`/api/workflows`): list, builder saves, run history. */
import { request } from '#lib/api.ts';
import type { Workflow, WorkflowInput, WorkflowRun, WorkflowSummary } from '#contracts/workflows';

export const workflowsApi = {
  list: async () => (await request<{ items: WorkflowSummary[] }>('/api/workflows')).items,
  get: (id: string) => request<Workflow>(`/api/workflows/${id}`),
  create: (body: WorkflowInput) => request<Workflow>('/api/workflows', { method: 'POST', body }),
  update: (id: string, body: Partial<WorkflowInput>) =>
    request<Workflow>(`/api/workflows/${id}`, { method: 'PATCH', body }),
  remove: (id: string) => request<void>(`/api/workflows/${id}`, { method: 'DELETE' }),
  runs: async (id: string) => (await request<{ items: WorkflowRun[] }>(`/api/workflows/${id}/runs`)).items,
};
