import type { z } from 'zod';
import type { noteInput } from '../../server/crm/crm.schemas.ts';
import type { DemoUserEmail as UserEmail } from './demo.seeder.ts';

// The team's notes on the demo records, with their @mentions (see demo-crm.ts).

export interface DemoNote {
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
