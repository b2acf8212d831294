import { statSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createBackup } from '../../server/ops/backup/backup.ts';
import { useE2e } from '../support/e2e.ts';

const e2e = useE2e('backups', { env: () => ({ BACKUP_SCHEDULE: '15 4 * * *', BACKUP_KEEP: '3' }) });

describe('Settings > Backups, in the browser', () => {
  it('shows an admin the backups in the data folder and the schedule, and a member nothing of them', async () => {
    const backup = await createBackup({
      databaseUrl: e2e.databaseUrl,
      dataDir: e2e.dataDir,
      log: pino({ level: 'silent' }),
    });
    expect(path.dirname(backup.path)).toBe(path.join(e2e.dataDir, 'backups'));

    const page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, 'demo@filo.local');
    await page.goto(`${e2e.filo.baseUrl}/settings`);
    await page.getByRole('link', { name: 'Backups' }).click();
    await page.getByRole('heading', { name: 'Backups' }).waitFor();
    await expect.poll(() => page.getByTestId('backup-schedule').textContent()).toContain('15 4 * * *');
    expect(await page.getByTestId('backup-schedule').textContent()).toContain('the 3 newest kept');
    const rows = page.getByTestId('backup-row');
    await expect.poll(() => rows.count()).toBe(1);
    const row = await rows.first().textContent();
    expect(row).toContain(path.basename(backup.path));
    const kb = (statSync(backup.path).size / 1024).toFixed(1);
    expect(row).toContain(`${kb} KB`);

    const member = await (await e2e.newContext()).newPage();
    await e2e.signIn(member, 'luca@filo.local');
    await member.goto(`${e2e.filo.baseUrl}/settings/backups`);
    await member.getByText('Only workspace owners and admins see the backups.').waitFor();
    expect(await member.getByTestId('backup-row').count()).toBe(0);
  });
});
