import { error, redirect } from '@sveltejs/kit';
import { resolve } from '$app/paths';
import { ApiError } from '#lib/api.ts';
import { session } from '#lib/session.svelte.ts';
import type { LayoutLoad } from './$types';

/** Every screen of the app needs a signed-in user: find out who, or send the visitor to sign in. */
export const load: LayoutLoad = async ({ fetch }) => {
  let me = session.me;
  if (!me) {
    try {
      me = await session.load(fetch);
    } catch (err) {
      if (err instanceof ApiError) error(err.status >= 500 ? err.status : 503, err.message);
      throw err;
    }
  }
  if (!me) redirect(307, resolve('/login'));
  return { me };
};
