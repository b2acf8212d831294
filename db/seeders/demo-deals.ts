import type { z } from 'zod';
import type { DEAL_STAGES } from '#contracts/crm';
import type { dealInput } from '../../server/crm/crm.schemas.ts';
import type { DemoUserEmail as UserEmail } from './demo.seeder.ts';

// The demo's deals, by company name (see demo-crm.ts).

type DealStage = (typeof DEAL_STAGES)[number];
type DealInput = Omit<z.input<typeof dealInput>, 'companyId' | 'assignedTo' | 'expectedCloseDate' | 'actualCloseDate'>;

export interface DemoDeal {
  company: string;
  deal: DealInput & { stage: DealStage };
  assignee: UserEmail;
  /** Created in this stage and then moved to `deal.stage`, so the timeline shows the move. */
  movedFrom?: DealStage;
  /** Days from today: the expected close (open deals) or the actual close (won and lost deals). */
  closeInDays: number;
}

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
    closeInDays: -3, // past its expected close: an overdue deal
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
