import { team as teamApi } from './crm/api.ts';
import type { Member } from '#contracts/team';
import { session } from './session.svelte.ts';

/** The members of the signed-in workspace: names for authors and mentions, choices for "assigned to". */
class Team {
  members = $state<Member[]>([]);
  #loadedFor: string | null = null;
  #pending: Promise<Member[]> | null = null;

  readonly byId = $derived(new Map(this.members.map((m) => [m.userId, m])));

  /** Loads once per workspace (again with `force`); concurrent callers share one request. */
  async ensure(force = false): Promise<Member[]> {
    const workspace = session.workspace?.id ?? null;
    if (!force && workspace === this.#loadedFor && this.members.length) return this.members;
    this.#pending ??= teamApi
      .members()
      .then((members) => {
        this.members = members;
        this.#loadedFor = workspace;
        return members;
      })
      .finally(() => (this.#pending = null));
    return this.#pending;
  }

  nameOf(userId: string | null | undefined): string | null {
    return userId ? (this.byId.get(userId)?.name ?? null) : null;
  }

  reset(): void {
    this.members = [];
    this.#loadedFor = null;
  }
}

export const team = new Team();
