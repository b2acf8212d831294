/** Calls of the settings screens: profile picture, the workspace's settings and logo, pending invitations. */
import { request } from '#lib/api.ts';
import { upload } from '#lib/upload.ts';
import type { Invitation } from '#contracts/team';
import type { PendingInvitation, WorkspacePatch, WorkspaceSettings } from '#contracts/settings';

const PICTURE_TYPES = ['image/png', 'image/jpeg', 'image/webp'];

/**
 * A picture made small in the browser before it is sent (the server keeps what it gets, up to 2 MB): at most
 * `max` pixels on its longer side, as WebP. Anything the browser cannot draw goes as it is, for the server to judge.
 */
export async function shrinkPicture(file: File, max: number): Promise<Blob> {
  if (!PICTURE_TYPES.includes(file.type)) return file;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, max / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = new OffscreenCanvas(width, height);
    canvas.getContext('2d')!.drawImage(bitmap, 0, 0, width, height);
    bitmap.close();
    const shrunk = await canvas.convertToBlob({ type: 'image/webp', quality: 0.9 });
    return shrunk.size < file.size || scale < 1 ? shrunk : file;
  } catch {
    return file;
  }
}

const sendPicture = <T>(url: string, picture: Blob) => {
  const form = new FormData();
  form.append('file', picture, 'picture');
  return upload<T>(url, form, () => {});
};

export const profileApi = {
  setAvatar: (picture: Blob) => sendPicture<{ avatarUrl: string | null }>('/api/auth/me/avatar', picture),
  removeAvatar: () => request<void>('/api/auth/me/avatar', { method: 'DELETE' }),
};

export const workspaceApi = {
  get: () => request<WorkspaceSettings>('/api/team/workspace'),
  update: (patch: WorkspacePatch) =>
    request<WorkspaceSettings>('/api/team/workspace', { method: 'PATCH', body: patch }),
  setLogo: (picture: Blob) => sendPicture<WorkspaceSettings>('/api/team/workspace/logo', picture),
  removeLogo: () => request<void>('/api/team/workspace/logo', { method: 'DELETE' }),
};

export const invitationsApi = {
  pending: () => request<{ items: PendingInvitation[] }>('/api/team/invitations'),
  resend: (id: string) => request<Invitation>(`/api/team/invitations/${id}/resend`, { method: 'POST' }),
  revoke: (id: string) => request<void>(`/api/team/invitations/${id}`, { method: 'DELETE' }),
};
