import { ApiError, request } from '#lib/api.ts';
import type { ConsentChangeInput, ContactConsent } from '#contracts/consent';

/** Where a contact's data export (a ZIP) downloads from. */
export const exportUrl = (contactId: string): string => `/api/contacts/${encodeURIComponent(contactId)}/export`;

/** A contact's consent as the panel shows it: loaded once, replaced by the answer of each change. */
export class ContactConsentState {
  readonly contactId: string;
  data = $state.raw<ContactConsent | null>(null);
  error = $state<string | null>(null);
  busy = $state(false);

  constructor(contactId: string) {
    this.contactId = contactId;
  }

  async load(): Promise<void> {
    try {
      this.data = await request<ContactConsent>(`/api/contacts/${encodeURIComponent(this.contactId)}/consent`);
      this.error = null;
    } catch (err) {
      this.error = (err as Error).message;
    }
  }

  /** A change by hand; answers the refusal's code (`address_suppressed`: it takes force) instead of throwing it. */
  async change(
    input: Partial<ConsentChangeInput> & Pick<ConsentChangeInput, 'listId' | 'status'>,
  ): Promise<string | null> {
    this.busy = true;
    try {
      this.data = await request<ContactConsent>(`/api/contacts/${encodeURIComponent(this.contactId)}/consent`, {
        method: 'PUT',
        body: input,
      });
      this.error = null;
      return null;
    } catch (err) {
      if (err instanceof ApiError && err.code === 'address_suppressed') return err.code;
      this.error = (err as Error).message;
      return this.error;
    } finally {
      this.busy = false;
    }
  }
}
