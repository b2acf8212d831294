import { beforeAll, describe, expect, it } from 'vitest';
import { apiClient, login, type ApiClient } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';

/**
 * Workflows in Chromium (issue 17): the owner builds "deal moved to Negotiation -> a task for the owner and a notice"
 * in the builder, a deal moves, and the task, the notice in the bell and the run's step log show up.
 */
const e2e = useE2e('workflows');
let owner: ApiClient;
let me: string;

beforeAll(async () => {
  owner = apiClient(e2e.filo.baseUrl, await login(e2e.filo.baseUrl));
  me = (await owner.json('GET', '/api/auth/me')).user.id;
});

describe('workflows', () => {
  it(
    'builds the Negotiation workflow, fires it on a stage change, shows the task, notice and run',
    { timeout: 60_000 },
    async () => {
      const context = await e2e.newContext();
      await context.addInitScript(() =>
        (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem(
          'filo.notify.banner-dismissed',
          '1',
        ),
      );
      const page = await context.newPage();
      await e2e.signIn(page, 'demo@filo.local');
      await page.getByRole('link', { name: 'Workflows' }).click();
      await page.getByRole('heading', { name: 'Workflows' }).waitFor();
      await page.getByRole('button', { name: 'New workflow' }).click();
      await page.getByLabel('Name').fill('Negotiation follow-up');
      await page.getByLabel('Event').selectOption('deal.stage_changed');
      await page.getByLabel('Moved to stage').selectOption('negotiation');
      const first = page.getByRole('listitem', { name: '1. Create a task' });
      await first.getByLabel('Task title').fill('Prepare the negotiation');
      await expect.poll(() => first.getByLabel('For').inputValue()).toBe('owner');
      await page.getByRole('button', { name: 'Add step' }).click();
      const second = page.getByRole('listitem', { name: '2. Notify a member' });
      await second.getByLabel('Message').fill('Your deal is in negotiation');
      // Reorder and back: the list keeps each step's fields.
      await second.getByRole('button', { name: 'Move up' }).click();
      await expect
        .poll(() => page.getByRole('listitem', { name: '1. Notify a member' }).getByLabel('Message').inputValue())
        .toBe('Your deal is in negotiation');
      await page
        .getByRole('listitem', { name: '1. Notify a member' })
        .getByRole('button', { name: 'Move down' })
        .click();
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
      await expect
        .poll(() => page.getByRole('button', { name: /Negotiation follow-up/ }).textContent())
        .toMatch(/Active/);

      const saved = (await owner.json('GET', '/api/workflows')).items[0];
      expect(saved.definition).toMatchObject({
        trigger: { type: 'event', event: 'deal.stage_changed', toStage: 'negotiation' },
        steps: [
          { action: 'create_task', title: 'Prepare the negotiation', assignTo: 'owner' },
          { action: 'notify', to: 'owner', message: 'Your deal is in negotiation' },
        ],
      });

      const deal = await owner.json('POST', '/api/crm/deals', {
        title: 'Rinnovo Caseificio',
        stage: 'proposal',
        assignedTo: me,
      });
      await owner.json('PATCH', `/api/crm/deals/${deal.id}`, { stage: 'negotiation' });

      // The notice arrives live in the bell's count, then reads as the workflow said it.
      await page.goto(`${e2e.filo.baseUrl}/notifications`);
      await expect
        .poll(() => page.getByTestId('notification').allTextContents(), { timeout: 20_000 })
        .toContainEqual(expect.stringContaining('Negotiation follow-up: Your deal is in negotiation'));
      await page.goto(`${e2e.filo.baseUrl}/tasks`);
      await page.getByText('Prepare the negotiation').first().waitFor();

      // The run history: done, on version 1, each step logged.
      await page.goto(`${e2e.filo.baseUrl}/workflows`);
      await page.getByRole('button', { name: /Negotiation follow-up/ }).click();
      const history = page.getByRole('region', { name: 'Run history' });
      await expect.poll(() => history.textContent(), { timeout: 10_000 }).toMatch(/Done.*version 1/s);
      expect(await history.textContent()).toMatch(/Create a task:\s*Done.*Notify a member:\s*Done/s);
    },
  );
});
