import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The boundaries of docs/architecture.md are ESLint rules (eslint.config.js): a forbidden import fails `npm run lint`.
const eslint = new ESLint({ cwd: new URL('..', import.meta.url).pathname });

async function restricted(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('import boundaries', () => {
  it.each([
    ['mail/anything.ts', `import { loadConfig } from '../server/config.ts';`],
    ['mail/anything.ts', `import { orm } from '../db/orm.ts';`],
    ['contracts/anything.ts', `import { RecordsService } from '../server/crm/records.service.ts';`],
    ['server/http/anything.ts', `import { companyInput } from '../crm/crm.schemas.ts';`],
    ['server/http/anything.ts', `import { OutboundService } from '../outbound/outbound.service.ts';`],
    ['server/crm/anything.ts', `import { ConversationsService } from '../inbox/conversations.service.ts';`],
    ['server/crm/anything.ts', `import { OutboundService } from '../outbound/outbound.service.ts';`],
    ['server/timeline/anything.ts', `import { RecordsService } from '../crm/records.service.ts';`],
    ['mail-gateway/anything.ts', `import { InboundProcessor } from '../server/inbox/inbound/process.ts';`],
    ['web/src/lib/anything.ts', `import type { Services } from '../../../server/services.ts';`],
    ['web/src/lib/anything.ts', `import { rooms } from '../../../realtime/events.ts';`],
    ['web/src/routes/(app)/anything.ts', `import { api } from '../../lib/api.ts';`],
  ])('refuses in %s: %s', async (file, source) => {
    expect(await restricted(file, source)).toHaveLength(1);
  });

  it.each([
    ['mail/anything.ts', `import { parseMail } from './parse.ts';`],
    ['server/crm/anything.ts', `import { inTenant } from '../tenancy.ts';`],
    ['server/inbox/anything.ts', `import { RecordsService } from '../crm/records.service.ts';`],
    ['mail-gateway/anything.ts', `import type { Logger } from '../server/logger.ts';`],
    ['web/src/lib/anything.ts', `import { recordType } from '#contracts/common';`],
    ['web/src/routes/(app)/anything.ts', `import { api } from '#lib/api.ts';`],
    ['contracts/anything.ts', `import { page } from './common.ts';`],
  ])('allows in %s: %s', async (file, source) => {
    expect(await restricted(file, source)).toEqual([]);
  });
});
