import type { z } from 'zod';
import type { Services } from '../../server/services.ts';
import type { Actor } from '../../server/tenancy.ts';
import { companyInput, contactInput, dealInput, dealPatch, noteInput } from '../../server/crm/crm.schemas.ts';
import { customFieldInput } from '../../server/crm/custom-fields.service.ts';
import { mailboxInput } from '../../server/inbox/mailboxes.service.ts';
import type { DEAL_STAGES } from '#contracts/crm';
import type { DEMO_USERS } from './demo.seeder.ts';

/*
 * The CRM a newcomer finds in the demo workspace: fixed lists (no random data), written through the domain
 * services as the demo users, so every record has its timeline activities and every @mention its notification.
 * Addresses and websites use the reserved `.example` domain: no demo contact is a real mailbox.
 */

type UserEmail = (typeof DEMO_USERS)[number]['email'];
type DealStage = (typeof DEAL_STAGES)[number];
type CompanyInput = Omit<z.input<typeof companyInput>, 'assignedTo'>;
type ContactInput = Omit<z.input<typeof contactInput>, 'companyId'>;
type DealInput = Omit<z.input<typeof dealInput>, 'companyId' | 'assignedTo' | 'expectedCloseDate' | 'actualCloseDate'>;

interface DemoCompany {
  company: CompanyInput;
  assignee: UserEmail;
  contacts: ContactInput[];
}

interface DemoDeal {
  company: string;
  deal: DealInput & { stage: DealStage };
  assignee: UserEmail;
  /** Created in this stage and then moved to `deal.stage`, so the timeline shows the move. */
  movedFrom?: DealStage;
  /** Days from today: the expected close (open deals) or the actual close (won and lost deals). */
  closeInDays: number;
}

interface DemoNote {
  /** A company name, or a deal title / contact email on that company. */
  company: string;
  deal?: string;
  contact?: string;
  author: UserEmail;
  noteType: z.input<typeof noteInput>['noteType'];
  isPinned?: boolean;
  content: string;
  mentions?: UserEmail[];
}

export const DEMO_CUSTOM_FIELDS: z.input<typeof customFieldInput>[] = [
  {
    entityType: 'company',
    fieldName: 'account_tier',
    fieldLabel: 'Account tier',
    fieldType: 'select',
    fieldOptions: ['Strategic', 'Key', 'Standard'],
    displayOrder: 0,
  },
  {
    entityType: 'contact',
    fieldName: 'preferred_language',
    fieldLabel: 'Preferred language',
    fieldType: 'select',
    fieldOptions: ['Italiano', 'English', 'Deutsch', 'Français', 'Español'],
    displayOrder: 0,
  },
];

export const DEMO_MAILBOXES: z.input<typeof mailboxInput>[] = [
  { name: 'Support', localPart: 'support', createContacts: true },
  { name: 'Sales', localPart: 'sales', createContacts: true },
];

export const DEMO_COMPANIES: DemoCompany[] = [
  {
    company: {
      name: 'Officine Brambilla S.p.A.',
      type: 'client',
      status: 'active',
      industry: 'Manufacturing',
      size: 'large',
      annualRevenue: 48_500_000,
      website: 'https://www.brambilla-officine.example',
      billingAddress: {
        street: 'Via dell’Industria 14',
        city: 'Lecco',
        postalCode: '23900',
        province: 'LC',
        country: 'Italy',
      },
      tags: ['manufacturing', 'key-account'],
      customFields: { account_tier: 'Strategic' },
    },
    assignee: 'mario@filo.local',
    contacts: [
      {
        firstName: 'Giulia',
        lastName: 'Brambilla',
        email: 'giulia.brambilla@brambilla-officine.example',
        phone: '+39 0341 250 110',
        mobile: '+39 347 210 4471',
        role: 'CEO',
        department: 'Management',
        isPrimary: true,
        customFields: { preferred_language: 'Italiano' },
      },
      {
        firstName: 'Paolo',
        lastName: 'Colombo',
        email: 'paolo.colombo@brambilla-officine.example',
        phone: '+39 0341 250 132',
        role: 'Production Manager',
        department: 'Production',
        customFields: { preferred_language: 'Italiano' },
      },
      {
        firstName: 'Elena',
        lastName: 'Riva',
        email: 'elena.riva@brambilla-officine.example',
        phone: '+39 0341 250 118',
        role: 'Purchasing Manager',
        department: 'Purchasing',
        customFields: { preferred_language: 'Italiano' },
      },
    ],
  },
  {
    company: {
      name: 'Caseificio Gualtieri S.r.l.',
      type: 'client',
      status: 'active',
      industry: 'Food & Beverage',
      size: 'medium',
      annualRevenue: 12_300_000,
      website: 'https://www.caseificio-gualtieri.example',
      billingAddress: {
        street: 'Strada Argini 52',
        city: 'Parma',
        postalCode: '43123',
        province: 'PR',
        country: 'Italy',
      },
      tags: ['food', 'dop'],
      customFields: { account_tier: 'Key' },
    },
    assignee: 'sara@filo.local',
    contacts: [
      {
        firstName: 'Marco',
        lastName: 'Gualtieri',
        email: 'marco@caseificio-gualtieri.example',
        phone: '+39 0521 480 201',
        mobile: '+39 335 612 0894',
        role: 'Owner',
        department: 'Management',
        isPrimary: true,
        customFields: { preferred_language: 'Italiano' },
      },
      {
        firstName: 'Francesca',
        lastName: 'Ferrari',
        email: 'qualita@caseificio-gualtieri.example',
        phone: '+39 0521 480 215',
        role: 'Quality Manager',
        department: 'Quality',
        customFields: { preferred_language: 'Italiano' },
      },
    ],
  },
  {
    company: {
      name: 'TransAlpina Logistica S.r.l.',
      type: 'client',
      status: 'active',
      industry: 'Logistics',
      size: 'large',
      annualRevenue: 31_000_000,
      website: 'https://www.transalpina-logistica.example',
      billingAddress: {
        street: 'Via Quadrante Europa 7',
        city: 'Verona',
        postalCode: '37137',
        province: 'VR',
        country: 'Italy',
      },
      tags: ['logistics', 'key-account'],
      customFields: { account_tier: 'Key' },
    },
    assignee: 'luca@filo.local',
    contacts: [
      {
        firstName: 'Andrea',
        lastName: 'Zanetti',
        email: 'andrea.zanetti@transalpina-logistica.example',
        phone: '+39 045 860 3301',
        mobile: '+39 348 771 2046',
        role: 'Operations Director',
        department: 'Operations',
        isPrimary: true,
        customFields: { preferred_language: 'Italiano' },
      },
      {
        firstName: 'Chiara',
        lastName: 'Bertolini',
        email: 'chiara.bertolini@transalpina-logistica.example',
        phone: '+39 045 860 3318',
        role: 'IT Manager',
        department: 'IT',
        customFields: { preferred_language: 'Italiano' },
      },
      {
        firstName: 'Stefan',
        lastName: 'Huber',
        email: 'stefan.huber@transalpina-logistica.example',
        phone: '+39 0471 920 044',
        role: 'Branch Manager, Bolzano',
        department: 'Operations',
        customFields: { preferred_language: 'Deutsch' },
      },
    ],
  },
  {
    company: {
      name: 'Nordhafen Logistik GmbH',
      type: 'client',
      status: 'prospect',
      industry: 'Logistics',
      size: 'enterprise',
      website: 'https://www.nordhafen-logistik.example',
      billingAddress: { street: 'Am Sandtorkai 41', city: 'Hamburg', postalCode: '20457', country: 'Germany' },
      tags: ['logistics', 'germany'],
      customFields: { account_tier: 'Standard' },
    },
    assignee: 'mario@filo.local',
    contacts: [
      {
        firstName: 'Katrin',
        lastName: 'Vogel',
        email: 'k.vogel@nordhafen-logistik.example',
        phone: '+49 40 3860 4410',
        role: 'Head of Warehouse Systems',
        department: 'IT',
        isPrimary: true,
        customFields: { preferred_language: 'Deutsch' },
      },
      {
        firstName: 'Jonas',
        lastName: 'Becker',
        email: 'j.becker@nordhafen-logistik.example',
        phone: '+49 40 3860 4427',
        role: 'Procurement',
        department: 'Purchasing',
        customFields: { preferred_language: 'English' },
      },
    ],
  },
  {
    company: {
      name: 'Lyon Précision SAS',
      type: 'client',
      status: 'active',
      industry: 'Manufacturing',
      size: 'medium',
      annualRevenue: 17_800_000,
      website: 'https://www.lyon-precision.example',
      billingAddress: { street: '18 rue de Gerland', city: 'Lyon', postalCode: '69007', country: 'France' },
      tags: ['manufacturing', 'france'],
      customFields: { account_tier: 'Key' },
    },
    assignee: 'mario@filo.local',
    contacts: [
      {
        firstName: 'Claire',
        lastName: 'Dubois',
        email: 'claire.dubois@lyon-precision.example',
        phone: '+33 4 72 60 18 40',
        role: 'Directrice technique',
        department: 'Engineering',
        isPrimary: true,
        customFields: { preferred_language: 'Français' },
      },
      {
        firstName: 'Julien',
        lastName: 'Martin',
        email: 'julien.martin@lyon-precision.example',
        phone: '+33 4 72 60 18 52',
        role: 'Maintenance Lead',
        department: 'Maintenance',
        customFields: { preferred_language: 'Français' },
      },
      {
        firstName: 'Sophie',
        lastName: 'Laurent',
        email: 'compta@lyon-precision.example',
        phone: '+33 4 72 60 18 11',
        role: 'Accounts Payable',
        department: 'Finance',
        customFields: { preferred_language: 'English' },
      },
    ],
  },
  {
    company: {
      name: 'Atlantic Fresh Foods Ltd',
      type: 'client',
      status: 'prospect',
      industry: 'Food & Beverage',
      size: 'medium',
      website: 'https://www.atlanticfresh.example',
      billingAddress: {
        street: '12 Avonmouth Way',
        city: 'Bristol',
        postalCode: 'BS11 8DD',
        country: 'United Kingdom',
      },
      tags: ['food', 'cold-chain'],
      customFields: { account_tier: 'Standard' },
    },
    assignee: 'sara@filo.local',
    contacts: [
      {
        firstName: 'Oliver',
        lastName: 'Hughes',
        email: 'oliver.hughes@atlanticfresh.example',
        phone: '+44 117 496 0321',
        role: 'Supply Chain Director',
        department: 'Supply Chain',
        isPrimary: true,
        customFields: { preferred_language: 'English' },
      },
      {
        firstName: 'Emma',
        lastName: 'Walsh',
        email: 'emma.walsh@atlanticfresh.example',
        phone: '+44 117 496 0358',
        role: 'Quality Assurance Lead',
        department: 'Quality',
        customFields: { preferred_language: 'English' },
      },
    ],
  },
  {
    company: {
      name: 'Cantine Moretti Società Agricola',
      type: 'client',
      status: 'active',
      industry: 'Wine',
      size: 'small',
      annualRevenue: 3_400_000,
      website: 'https://www.cantinemoretti.example',
      billingAddress: {
        street: 'Podere Le Querce 3',
        city: 'Montepulciano',
        postalCode: '53045',
        province: 'SI',
        country: 'Italy',
      },
      tags: ['food', 'wine'],
      customFields: { account_tier: 'Standard' },
    },
    assignee: 'sara@filo.local',
    contacts: [
      {
        firstName: 'Lorenzo',
        lastName: 'Moretti',
        email: 'lorenzo@cantinemoretti.example',
        phone: '+39 0578 716 240',
        mobile: '+39 340 552 9183',
        role: 'Owner',
        department: 'Management',
        isPrimary: true,
        customFields: { preferred_language: 'Italiano' },
      },
      {
        firstName: 'Anna',
        lastName: 'Moretti',
        email: 'anna@cantinemoretti.example',
        phone: '+39 0578 716 241',
        role: 'Marketing & Export',
        department: 'Marketing',
        customFields: { preferred_language: 'English' },
      },
    ],
  },
  {
    company: {
      name: 'Iberia Packaging S.L.',
      type: 'supplier',
      status: 'active',
      industry: 'Packaging',
      size: 'medium',
      website: 'https://www.iberiapackaging.example',
      billingAddress: { street: 'Carrer de la Indústria 88', city: 'Valencia', postalCode: '46014', country: 'Spain' },
      tags: ['supplier', 'packaging'],
    },
    assignee: 'luca@filo.local',
    contacts: [
      {
        firstName: 'Javier',
        lastName: 'Ortega',
        email: 'javier.ortega@iberiapackaging.example',
        phone: '+34 963 150 274',
        role: 'Key Account Manager',
        department: 'Sales',
        isPrimary: true,
        customFields: { preferred_language: 'Español' },
      },
      {
        firstName: 'Lucía',
        lastName: 'Navarro',
        email: 'pedidos@iberiapackaging.example',
        phone: '+34 963 150 230',
        role: 'Order Desk',
        department: 'Logistics',
        customFields: { preferred_language: 'English' },
      },
    ],
  },
  {
    company: {
      name: 'Studio Conti & Associati',
      type: 'stakeholder',
      status: 'active',
      industry: 'Accounting & Consulting',
      size: 'small',
      website: 'https://www.studioconti.example',
      billingAddress: {
        street: 'Corso Venezia 21',
        city: 'Milano',
        postalCode: '20121',
        province: 'MI',
        country: 'Italy',
      },
      tags: ['partner', 'accounting'],
    },
    assignee: 'demo@filo.local',
    contacts: [
      {
        firstName: 'Roberta',
        lastName: 'Conti',
        email: 'roberta.conti@studioconti.example',
        phone: '+39 02 7600 4120',
        role: 'Managing Partner',
        department: 'Management',
        isPrimary: true,
        customFields: { preferred_language: 'Italiano' },
      },
      {
        firstName: 'Davide',
        lastName: 'Galli',
        email: 'davide.galli@studioconti.example',
        phone: '+39 02 7600 4133',
        role: 'Tax Advisor',
        department: 'Tax',
        customFields: { preferred_language: 'Italiano' },
      },
    ],
  },
  {
    company: {
      name: 'Brightwave Software Inc.',
      type: 'client',
      status: 'prospect',
      industry: 'Software',
      size: 'enterprise',
      website: 'https://www.brightwave.example',
      billingAddress: {
        street: '200 Seaport Blvd',
        city: 'Boston',
        postalCode: '02210',
        province: 'MA',
        country: 'United States',
      },
      tags: ['software', 'oem'],
      customFields: { account_tier: 'Strategic' },
    },
    assignee: 'mario@filo.local',
    contacts: [
      {
        firstName: 'Rachel',
        lastName: 'Kim',
        email: 'rachel.kim@brightwave.example',
        phone: '+1 617 555 0142',
        role: 'VP Partnerships',
        department: 'Business Development',
        isPrimary: true,
        customFields: { preferred_language: 'English' },
      },
      {
        firstName: 'Daniel',
        lastName: 'Foster',
        email: 'daniel.foster@brightwave.example',
        phone: '+1 617 555 0187',
        role: 'Solutions Architect',
        department: 'Engineering',
        customFields: { preferred_language: 'English' },
      },
      {
        firstName: 'Priya',
        lastName: 'Raman',
        email: 'priya.raman@brightwave.example',
        phone: '+1 617 555 0119',
        role: 'Legal Counsel',
        department: 'Legal',
        customFields: { preferred_language: 'English' },
      },
    ],
  },
];

export const DEMO_DEALS: DemoDeal[] = [
  {
    company: 'Officine Brambilla S.p.A.',
    deal: {
      title: 'Linea di saldatura robotizzata — fase 2',
      value: 185_000,
      currency: 'EUR',
      stage: 'negotiation',
      probability: 70,
      source: 'Existing customer',
    },
    assignee: 'mario@filo.local',
    movedFrom: 'proposal',
    closeInDays: 21,
  },
  {
    company: 'Officine Brambilla S.p.A.',
    deal: {
      title: 'Contratto di assistenza 2027',
      value: 24_000,
      currency: 'EUR',
      stage: 'won',
      probability: 100,
      source: 'Renewal',
    },
    assignee: 'mario@filo.local',
    movedFrom: 'negotiation',
    closeInDays: -6,
  },
  {
    company: 'Caseificio Gualtieri S.r.l.',
    deal: {
      title: 'Tracciabilità lotti ed etichettatura',
      value: 38_500,
      currency: 'EUR',
      stage: 'proposal',
      probability: 50,
      source: 'Trade fair (Cibus)',
    },
    assignee: 'sara@filo.local',
    movedFrom: 'qualified',
    closeInDays: 35,
  },
  {
    company: 'Caseificio Gualtieri S.r.l.',
    deal: {
      title: 'Formazione HACCP digitale per operatori',
      value: 6_800,
      currency: 'EUR',
      stage: 'lead',
      probability: 15,
      source: 'Inbound email',
    },
    assignee: 'sara@filo.local',
    closeInDays: 60,
  },
  {
    company: 'TransAlpina Logistica S.r.l.',
    deal: {
      title: 'Portale clienti per le spedizioni',
      value: 62_000,
      currency: 'EUR',
      stage: 'qualified',
      probability: 30,
      source: 'Existing customer',
    },
    assignee: 'luca@filo.local',
    movedFrom: 'lead',
    closeInDays: 45,
  },
  {
    company: 'TransAlpina Logistica S.r.l.',
    deal: {
      title: 'Integrazione EDI con i corrieri',
      value: 18_000,
      currency: 'EUR',
      stage: 'won',
      probability: 100,
      source: 'Existing customer',
    },
    assignee: 'luca@filo.local',
    movedFrom: 'negotiation',
    closeInDays: -14,
  },
  {
    company: 'Nordhafen Logistik GmbH',
    deal: {
      title: 'Pilot: warehouse dashboard, Hamburg hub',
      value: 45_000,
      currency: 'EUR',
      stage: 'lead',
      probability: 10,
      source: 'Referral (TransAlpina)',
    },
    assignee: 'mario@filo.local',
    closeInDays: 90,
  },
  {
    company: 'Lyon Précision SAS',
    deal: {
      title: 'Maintenance prédictive — atelier 3',
      value: 71_000,
      currency: 'EUR',
      stage: 'negotiation',
      probability: 65,
      source: 'Existing customer',
    },
    assignee: 'mario@filo.local',
    movedFrom: 'proposal',
    closeInDays: 14,
  },
  {
    company: 'Lyon Précision SAS',
    deal: {
      title: 'Extension de garantie 3 ans',
      value: 9_600,
      currency: 'EUR',
      stage: 'won',
      probability: 100,
      source: 'Renewal',
    },
    assignee: 'luca@filo.local',
    movedFrom: 'proposal',
    closeInDays: -30,
  },
  {
    company: 'Atlantic Fresh Foods Ltd',
    deal: {
      title: 'Cold-chain monitoring rollout',
      value: 52_000,
      currency: 'GBP',
      stage: 'qualified',
      probability: 25,
      source: 'Webinar',
    },
    assignee: 'sara@filo.local',
    movedFrom: 'lead',
    closeInDays: 75,
  },
  {
    company: 'Cantine Moretti Società Agricola',
    deal: {
      title: 'E-commerce e club del vino',
      value: 12_500,
      currency: 'EUR',
      stage: 'lost',
      probability: 0,
      source: 'Inbound email',
    },
    assignee: 'sara@filo.local',
    movedFrom: 'proposal',
    closeInDays: -10,
  },
  {
    company: 'Brightwave Software Inc.',
    deal: {
      title: 'OEM licence, North America',
      value: 120_000,
      currency: 'USD',
      stage: 'proposal',
      probability: 40,
      source: 'Partner introduction',
    },
    assignee: 'mario@filo.local',
    movedFrom: 'qualified',
    closeInDays: 50,
  },
];

export const DEMO_NOTES: DemoNote[] = [
  {
    company: 'Officine Brambilla S.p.A.',
    author: 'demo@filo.local',
    noteType: 'meeting',
    isPinned: true,
    content:
      'Visita in stabilimento a Lecco con @Mario Rossi.\n\n' +
      '- La linea 2 lavora su **tre turni** da settembre\n' +
      '- Giulia vuole la fase 2 operativa prima della fiera di marzo\n' +
      '- Prossimo passo: sopralluogo tecnico con Paolo Colombo',
    mentions: ['mario@filo.local'],
  },
  {
    company: 'Officine Brambilla S.p.A.',
    author: 'sara@filo.local',
    noteType: 'production',
    content:
      'Cliente richiede cambio specifiche: pinze di saldatura da 6 a 8 assi. @Demo Owner serve il tuo ok ' +
      'prima di aggiornare l’offerta.',
    mentions: ['demo@filo.local'],
  },
  {
    company: 'Officine Brambilla S.p.A.',
    deal: 'Linea di saldatura robotizzata — fase 2',
    author: 'mario@filo.local',
    noteType: 'call',
    content:
      'Elena Riva chiede uno sconto del 5% con pagamento a 60 giorni. Ne parliamo lunedì in riunione commerciale.',
  },
  {
    company: 'Caseificio Gualtieri S.r.l.',
    author: 'sara@filo.local',
    noteType: 'meeting',
    content:
      'Demo dell’etichettatura con Francesca Ferrari: vuole il QR code per lotto sulle forme da 40 kg. ' +
      'Offerta inviata, attendiamo riscontro entro fine mese.',
  },
  {
    company: 'TransAlpina Logistica S.r.l.',
    author: 'luca@filo.local',
    noteType: 'call',
    content:
      'Call con Andrea Zanetti: il portale deve mostrare lo stato delle spedizioni in tempo reale ai loro clienti. ' +
      '@Sara Bianchi puoi preparare una stima per 3 sprint?',
    mentions: ['sara@filo.local'],
  },
  {
    company: 'Nordhafen Logistik GmbH',
    contact: 'k.vogel@nordhafen-logistik.example',
    author: 'mario@filo.local',
    noteType: 'email',
    content:
      'Katrin Vogel replied after the Munich trade fair: interested in a 3-month pilot at the Hamburg hub. ' +
      '@Demo Owner can you join the intro call next week?',
    mentions: ['demo@filo.local'],
  },
  {
    company: 'Lyon Précision SAS',
    author: 'mario@filo.local',
    noteType: 'meeting',
    content:
      'Réunion avec Claire Dubois: les capteurs vibratoires de l’atelier 3 sont déjà installés. ' +
      '@Luca Verdi please check the data export format with Julien Martin.',
    mentions: ['luca@filo.local'],
  },
  {
    company: 'Atlantic Fresh Foods Ltd',
    author: 'demo@filo.local',
    noteType: 'call',
    content:
      'Oliver Hughes wants temperature alerts by SMS for the night shift. @Sara Bianchi let’s include Twilio in the proposal.',
    mentions: ['sara@filo.local'],
  },
  {
    company: 'Cantine Moretti Società Agricola',
    author: 'sara@filo.local',
    noteType: 'general',
    content:
      'Trattativa persa: hanno scelto una piattaforma e-commerce già integrata con il loro gestionale. Ricontattare a vendemmia finita.',
  },
  {
    company: 'Iberia Packaging S.L.',
    author: 'luca@filo.local',
    noteType: 'production',
    content:
      'Consegna cartoni personalizzati confermata per la settimana 12. Javier Ortega invia i campioni via corriere.',
  },
  {
    company: 'Studio Conti & Associati',
    author: 'luca@filo.local',
    noteType: 'accounting',
    content: 'Payment received — Inv#2026-118 (Lyon Précision). Roberta Conti conferma la chiusura del trimestre.',
  },
  {
    company: 'Brightwave Software Inc.',
    author: 'mario@filo.local',
    noteType: 'meeting',
    isPinned: true,
    content:
      'Video call with Rachel Kim and Daniel Foster: they want to embed our timeline in their field-service app. ' +
      '@Demo Owner the draft OEM terms are with Priya Raman (legal).',
    mentions: ['demo@filo.local'],
  },
];

const isoDate = (from: Date, days: number) => new Date(from.getTime() + days * 86_400_000).toISOString().slice(0, 10);

/** What {@link seedDemoCrm} wrote, for the log line. */
export interface DemoCrmCounts {
  companies: number;
  contacts: number;
  deals: number;
  notes: number;
  mailboxes: number;
}

/**
 * Writes the demo CRM through the services, `owner` creating the records and the team writing the notes.
 * Each call is its own transaction: a crash midway leaves a partial demo, and it is not resumed on the next
 * start (the demo marker is already set), which is acceptable for demo data.
 */
export async function seedDemoCrm(services: Services, owner: Actor, today = new Date()): Promise<DemoCrmCounts> {
  const members = await services.team.members(owner);
  const userId = (email: UserEmail) => {
    const member = members.find((m) => m.email === email);
    if (!member) throw new Error(`demo user ${email} is not in the workspace`);
    return member.userId;
  };
  const actors = new Map<string, Actor>([[owner.userId, owner]]);
  const actorOf = async (email: UserEmail): Promise<Actor> => {
    const id = userId(email);
    let actor = actors.get(id);
    if (!actor) {
      actor = (await services.team.actorFor(owner.tenantId, id)) ?? undefined;
      if (!actor) throw new Error(`demo user ${email} is not in the workspace`);
      actors.set(id, actor);
    }
    return actor;
  };

  for (const field of DEMO_CUSTOM_FIELDS) await services.customFields.create(owner, customFieldInput.parse(field));
  for (const mailbox of DEMO_MAILBOXES) await services.mailboxes.create(owner, mailboxInput.parse(mailbox));

  const companies = new Map<string, string>();
  const contacts = new Map<string, string>();
  for (const { company, assignee, contacts: people } of DEMO_COMPANIES) {
    const row = await services.records.create(
      owner,
      'company',
      companyInput.parse({ ...company, assignedTo: userId(assignee) }),
    );
    companies.set(company.name, row.id);
    for (const person of people) {
      const created = await services.records.create(
        owner,
        'contact',
        contactInput.parse({ ...person, companyId: row.id }),
      );
      if (person.email) contacts.set(person.email, created.id);
    }
  }

  const deals = new Map<string, string>();
  for (const { company, deal, assignee, movedFrom, closeInDays } of DEMO_DEALS) {
    const companyId = companies.get(company);
    if (!companyId) throw new Error(`demo deal on unknown company ${company}`);
    const closeDate = isoDate(today, closeInDays);
    const closed = deal.stage === 'won' || deal.stage === 'lost' ? { actualCloseDate: closeDate } : {};
    const input = dealInput.parse({
      ...deal,
      companyId,
      assignedTo: userId(assignee),
      expectedCloseDate: closeDate,
      ...(movedFrom ? { stage: movedFrom, probability: null } : closed),
    });
    const row = await services.records.create(owner, 'deal', input);
    if (movedFrom) {
      const move = { stage: deal.stage, probability: deal.probability, ...closed };
      await services.records.update(owner, 'deal', row.id, dealPatch.parse(move));
    }
    deals.set(deal.title, row.id);
  }

  for (const note of DEMO_NOTES) {
    const [entityType, entityId] = note.deal
      ? (['deal', deals.get(note.deal)] as const)
      : note.contact
        ? (['contact', contacts.get(note.contact)] as const)
        : (['company', companies.get(note.company)] as const);
    if (!entityId) throw new Error(`demo note on an unknown record of ${note.company}`);
    await services.notes.create(
      await actorOf(note.author),
      noteInput.parse({
        entityType,
        entityId,
        content: note.content,
        noteType: note.noteType,
        isPinned: note.isPinned ?? false,
        mentions: (note.mentions ?? []).map(userId),
      }),
    );
  }

  return {
    companies: companies.size,
    contacts: contacts.size,
    deals: deals.size,
    notes: DEMO_NOTES.length,
    mailboxes: DEMO_MAILBOXES.length,
  };
}
