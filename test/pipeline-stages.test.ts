import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline } from '#contracts/crm';
import { DEFAULT_PIPELINE_STAGES, pipelineStages, type PipelineStages } from '#contracts/pipeline';
import { apiClient, body, login, signUp, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

/** Per-workspace pipeline stages: seeded, read by everyone, replaced by admins, and what a deal's stage must be. */

let filo: TestFilo;
let owner: ApiClient;
let luca: ApiClient;
let other: ApiClient;

beforeAll(async () => {
  filo = await startTestFilo();
  owner = apiClient(filo.baseUrl, await login(filo.baseUrl));
  luca = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'luca@filo.local', password: 'filo-demo' }));
  other = apiClient(
    filo.baseUrl,
    await signUp(filo, {
      workspace: 'Other Stages',
      name: 'Olga',
      email: 'olga@other.example',
      password: 'pw-long-enough-1',
    }),
  );
});

afterAll(async () => {
  await filo?.close();
});

const stagesOf = async (client: ApiClient) =>
  pipelineStages.parse(await client.json('GET', '/api/crm/pipeline/stages'));
const put = (client: ApiClient, payload: unknown) => client.call('PUT', '/api/crm/pipeline/stages', payload);
const editable = (list: PipelineStages) =>
  list.items.map(({ key, name, probability, kind }) => ({ key, name, probability, kind }));

describe('pipeline stages', () => {
  it('are seeded for the demo workspace and for a workspace signed up later, in the old fixed order', async () => {
    const expected = DEFAULT_PIPELINE_STAGES.map((s, position) => ({ ...s, position }));
    expect((await stagesOf(owner)).items).toEqual(expected);
    expect((await stagesOf(other)).items).toEqual(expected);
    expect((await stagesOf(luca)).version).toBe(1);
  });

  it('are replaced by admins only, with their version; bad lists answer 400 and change nothing', async () => {
    const before = await stagesOf(owner);
    const res = await put(luca, { version: before.version, stages: editable(before) });
    expect(res.status).toBe(403);
    expect((await body(res)).error.code).toBe('forbidden');

    const bad: [string, unknown][] = [
      ['empty list', { version: before.version, stages: [] }],
      [
        'duplicate keys',
        { version: before.version, stages: [...editable(before), { ...editable(before)[0]!, name: 'Again' }] },
      ],
      [
        'probability 120',
        { version: before.version, stages: editable(before).map((s, i) => (i ? s : { ...s, probability: 120 })) },
      ],
      [
        'a bad key',
        { version: before.version, stages: [{ key: 'Bad Key!', name: 'X', probability: 1, kind: 'open' }] },
      ],
      [
        'no open stage',
        { version: before.version, stages: [{ key: 'won', name: 'Won', probability: 100, kind: 'won' }] },
      ],
      [
        'an unknown kind',
        { version: before.version, stages: [{ key: 'a', name: 'A', probability: 1, kind: 'maybe' }] },
      ],
    ];
    for (const [why, payload] of bad) {
      const answer = await put(owner, payload);
      expect(answer.status, why).toBe(400);
      expect((await body(answer)).error.code, why).toBe('validation_failed');
    }
    const stale = await put(owner, { version: before.version + 5, stages: editable(before) });
    expect(stale.status).toBe(409);
    expect((await body(stale)).error.code).toBe('version_conflict');
    expect(await stagesOf(owner)).toEqual(before);
  });

  it('keep the deals in a renamed stage; a deleted stage with deals needs a destination; a deal takes known stages only', async () => {
    const company = await owner.json('POST', '/api/crm/companies', { name: 'Stage Movers Srl', type: 'client' });
    const deal = await owner.json('POST', '/api/crm/deals', {
      companyId: company.id,
      title: 'Mover',
      stage: 'qualified',
    });
    const unknown = await owner.call('POST', '/api/crm/deals', {
      companyId: company.id,
      title: 'Nowhere',
      stage: 'nowhere',
    });
    expect(unknown.status).toBe(400);
    expect((await body(unknown)).error.fields).toEqual({ stage: 'is not a stage of this workspace' });

    const before = await stagesOf(owner);
    const renamed = editable(before).map((s) =>
      s.key === 'qualified' ? { ...s, name: 'Qualificato', probability: 30 } : s,
    );
    // a new stage between proposal and negotiation, and lead moved to the end of the open ones
    const withDemo = [
      ...renamed.filter((s) => s.key === 'qualified' || s.key === 'proposal'),
      { key: 'demo-booked', name: 'Demo booked', probability: 60, kind: 'open' as const },
      ...renamed.filter((s) => s.key === 'negotiation'),
      ...renamed.filter((s) => s.key === 'lead'),
      ...renamed.filter((s) => s.kind !== 'open'),
    ];
    const saved = pipelineStages.parse(
      await owner.json('PUT', '/api/crm/pipeline/stages', { version: before.version, stages: withDemo }),
    );
    expect(saved.version).toBe(before.version + 1);
    expect(saved.items.map((s) => s.key)).toEqual([
      'qualified',
      'proposal',
      'demo-booked',
      'negotiation',
      'lead',
      'won',
      'lost',
    ]);
    expect(await stagesOf(owner)).toEqual(saved);
    expect((await owner.json('GET', `/api/crm/deals/${deal.id}`)).stage).toBe('qualified');

    // the pipeline summary follows the workspace's order and knows the new stage
    const moved = await owner.json('PATCH', `/api/crm/deals/${deal.id}`, {
      stage: 'demo-booked',
      probability: 60,
      version: deal.version,
    });
    expect(moved).toMatchObject({ stage: 'demo-booked', probability: 60 });
    const summary = pipeline.parse(await owner.json('GET', `/api/crm/pipeline?companyId=${company.id}`)).stages;
    expect(summary.map((s) => s.stage)).toEqual(saved.items.map((s) => s.key));
    expect(summary.find((s) => s.stage === 'demo-booked')!.count).toBe(1);
    const timeline = await owner.json('GET', `/api/crm/timeline?entityType=deal&entityId=${deal.id}`);
    expect(timeline.items.find((a: { type: string }) => a.type === 'deal.stage_changed')).toMatchObject({
      type: 'deal.stage_changed',
      data: { from: 'qualified', to: 'demo-booked' },
    });

    // deleting the stage that holds the deal: refused without a destination, then moved
    const without = saved.items
      .filter((s) => s.key !== 'demo-booked')
      .map(({ key, name, probability, kind }) => ({ key, name, probability, kind }));
    const refused = await put(owner, { version: saved.version, stages: without });
    expect(refused.status).toBe(400);
    expect(await body(refused)).toMatchObject({
      error: { code: 'stage_in_use', fields: { 'moves.demo-booked': expect.any(String) } },
    });
    const nowhere = await put(owner, { version: saved.version, stages: without, moves: { 'demo-booked': 'gone' } });
    expect(nowhere.status).toBe(400);
    const final = pipelineStages.parse(
      await owner.json('PUT', '/api/crm/pipeline/stages', {
        version: saved.version,
        stages: without,
        moves: { 'demo-booked': 'negotiation' },
      }),
    );
    expect(final.items.map((s) => s.key)).not.toContain('demo-booked');
    const after = await owner.json('GET', `/api/crm/deals/${deal.id}`);
    expect(after.stage).toBe('negotiation');
    expect(after.version).toBe(moved.version + 1);
    // the move off the deleted stage is on the deal's timeline, named as the stage was
    const moves = await owner.json('GET', `/api/crm/timeline?entityType=deal&entityId=${deal.id}`);
    expect(moves.items[0]).toMatchObject({
      type: 'deal.stage_changed',
      data: { from: 'demo-booked', to: 'negotiation' },
    });
    // a stage that no longer exists is refused again
    const gone = await owner.call('PATCH', `/api/crm/deals/${deal.id}`, { stage: 'demo-booked' });
    expect(gone.status).toBe(400);
  });

  it('belong to one workspace: another workspace neither sees nor uses them', async () => {
    const mine = await stagesOf(other);
    await other.json('PUT', '/api/crm/pipeline/stages', {
      version: mine.version,
      stages: [...editable(mine), { key: 'olga-only', name: 'Olga only', probability: 5, kind: 'open' }],
    });
    expect((await stagesOf(owner)).items.map((s) => s.key)).not.toContain('olga-only');
    const res = await owner.call('POST', '/api/crm/deals', { title: 'Borrowed stage', stage: 'olga-only' });
    expect(res.status).toBe(400);
    expect((await stagesOf(other)).items.map((s) => s.key)).toContain('olga-only');
    // a deal created with no stage takes the workspace's first open stage
    const plain = await owner.json('POST', '/api/crm/deals', { title: 'No stage given' });
    expect(plain.stage).toBe((await stagesOf(owner)).items.find((s) => s.kind === 'open')!.key);
  });
});
