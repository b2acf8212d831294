/** Typed calls to the tasks API (contracts/tasks.ts). */
import { request } from '#lib/api.ts';
import { query } from '#lib/crm/api.ts';
import type { Page } from '#contracts/common';
import type { Task, TaskCreate, TaskPatch, TaskQuery, TaskSummary } from '#contracts/tasks';

const enc = encodeURIComponent;

export const tasksApi = {
  list: (params: Partial<Record<keyof TaskQuery, string | number>>, signal?: AbortSignal) =>
    request<Page<Task>>(`/api/tasks${query(params)}`, { signal }),
  summary: () => request<TaskSummary>('/api/tasks/summary'),
  get: (id: string) => request<Task>(`/api/tasks/${enc(id)}`),
  create: (body: TaskCreate) => request<Task>('/api/tasks', { method: 'POST', body }),
  update: (id: string, body: TaskPatch) => request<Task>(`/api/tasks/${enc(id)}`, { method: 'PATCH', body }),
  remove: (id: string) => request<void>(`/api/tasks/${enc(id)}`, { method: 'DELETE' }),
};
