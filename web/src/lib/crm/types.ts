/** Shapes of the CRM API's answers, as JSON (dates are ISO strings). */

export const COMPANY_TYPES = ['client', 'supplier', 'stakeholder'] as const;
export const COMPANY_STATUSES = ['active', 'inactive', 'prospect'] as const;
export const COMPANY_SIZES = ['small', 'medium', 'large', 'enterprise'] as const;
export const CONTACT_STATUSES = ['active', 'inactive'] as const;
export const DEAL_STAGES = ['lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'] as const;
export const NOTE_TYPES = ['general', 'call', 'meeting', 'email', 'production', 'accounting'] as const;
export const DOCUMENT_CATEGORIES = ['contract', 'invoice', 'presentation', 'other'] as const;
export const ENTITY_TYPES = ['company', 'contact', 'deal'] as const;
export const FIELD_TYPES = ['text', 'number', 'date', 'select', 'multiselect', 'boolean', 'url', 'email'] as const;
export const COMPANY_SORTS = ['name', '-name', '-createdAt', 'createdAt', '-updatedAt'] as const;

export type CompanyType = (typeof COMPANY_TYPES)[number];
export type CompanyStatus = (typeof COMPANY_STATUSES)[number];
export type CompanySize = (typeof COMPANY_SIZES)[number];
export type ContactStatus = (typeof CONTACT_STATUSES)[number];
export type DealStage = (typeof DEAL_STAGES)[number];
export type NoteType = (typeof NOTE_TYPES)[number];
export type DocumentCategory = (typeof DOCUMENT_CATEGORIES)[number];
export type EntityType = (typeof ENTITY_TYPES)[number];
export type FieldType = (typeof FIELD_TYPES)[number];
export type CompanySort = (typeof COMPANY_SORTS)[number];

export type CustomValues = Record<string, unknown>;

export interface Address {
  street?: string;
  city?: string;
  postalCode?: string;
  province?: string;
  country?: string;
}

interface RecordBase {
  id: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  createdBy: string | null;
  customFields: CustomValues;
}

export interface Company extends RecordBase {
  name: string;
  type: CompanyType;
  status: CompanyStatus;
  vatNumber?: string | null;
  taxCode?: string | null;
  website?: string | null;
  industry?: string | null;
  size?: CompanySize | null;
  annualRevenue?: string | null;
  logoUrl?: string | null;
  billingAddress?: Address | null;
  shippingAddress?: Address | null;
  tags: string[];
  assignedTo?: string | null;
}

export interface Contact extends RecordBase {
  companyId?: string | null;
  firstName: string;
  lastName: string;
  email?: string | null;
  phone?: string | null;
  mobile?: string | null;
  role?: string | null;
  department?: string | null;
  isPrimary: boolean;
  avatarUrl?: string | null;
  linkedinUrl?: string | null;
  birthday?: string | null;
  notes?: string | null;
  tags: string[];
  status: ContactStatus;
  /** Set when mail to `email` bounced permanently; cleared when the address changes. */
  emailBouncedAt?: string | null;
  /** The status and the receiving server's words. */
  emailBounceReason?: string | null;
}

export interface Deal extends RecordBase {
  companyId?: string | null;
  title: string;
  value?: string | null;
  currency: string;
  stage: DealStage;
  probability?: number | null;
  expectedCloseDate?: string | null;
  actualCloseDate?: string | null;
  source?: string | null;
  assignedTo?: string | null;
}

export interface Note {
  id: string;
  entityType: EntityType;
  entityId: string;
  content: string;
  noteType: NoteType;
  isPinned: boolean;
  mentions: string[];
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface Activity {
  id: string;
  seq: number;
  entityType: string;
  entityId: string;
  companyId: string | null;
  type: string;
  title: string;
  description: string | null;
  data: Record<string, unknown>;
  actor: { id: string; name: string } | null;
  createdAt: string;
}

export interface CrmDocument {
  id: string;
  entityType: EntityType;
  entityId: string;
  fileName: string;
  fileType: string | null;
  fileSize: number | null;
  category: DocumentCategory;
  uploadedBy: string | null;
  uploadedAt: string;
}

export interface FullContext {
  company: Company;
  contacts: Contact[];
  deals: Deal[];
  recentNotes: Note[];
  recentActivities: Activity[];
  documents: CrmDocument[];
}

export interface CustomFieldDef {
  id: string;
  entityType: EntityType;
  fieldName: string;
  fieldLabel: string;
  fieldType: FieldType;
  fieldOptions: string[] | null;
  isRequired: boolean;
  defaultValue: string | null;
  displayOrder: number;
}

export interface SearchHit {
  type: 'company' | 'contact' | 'deal' | 'note';
  id: string;
  title: string;
  subtitle: string | null;
  companyId: string | null;
  rank: number;
}

export interface Member {
  userId: string;
  name: string;
  email: string;
  role: 'owner' | 'admin' | 'member';
  joinedAt: string;
}

export interface Invitation {
  id: string;
  email: string;
  role: Member['role'];
  expiresAt: string;
  inviteUrl: string;
  token: string;
}

export interface ApiToken {
  id: string;
  name: string;
  prefix: string;
  scope: 'full' | 'read';
  createdBy: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface AppNotification {
  id: string;
  type: string;
  title: string;
  body: string | null;
  entityType: string | null;
  entityId: string | null;
  noteId: string | null;
  actor: { id: string; name: string } | null;
  readAt: string | null;
  createdAt: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface RecordUpdate {
  type: string;
  id: string;
  changes: Record<string, unknown>;
  version: number;
  deleted?: boolean;
}
