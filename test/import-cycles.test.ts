import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findCycles } from '../scripts/import-cycles.ts';
import { tempDir } from './support/harness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixture = tempDir('filo-cycles-');
afterAll(() => fixture.remove());

function write(files: Record<string, string>): string {
  const dir = path.join(fixture.dir, String(Math.random()).slice(2));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe('import cycles', () => {
  it('none among server/, realtime/, mail/, mail-gateway/, db/ and contracts/', () => {
    expect(findCycles(root)).toEqual([]);
  });

  it('finds a cycle made of type-only imports, through a subpath import, and across folders', () => {
    const dir = write({
      'server/config.ts': "import { hosts } from './delivery/target.ts';\nexport type Config = { hosts: string[] };\n",
      'server/delivery/target.ts': "import type { Logger } from '../logger.ts';\nexport const hosts = [];\n",
      'server/logger.ts': "import type {\n  Config,\n} from './config.ts';\nexport type Logger = Config;\n",
      'server/shape.ts': "import { shape } from '#contracts/shape';\nexport const x = shape;\n",
      'contracts/shape.ts': "export { x } from '../server/shape.ts';\nexport const shape = 1;\n",
      'realtime/a.ts': "import './b.ts';\n",
      'realtime/b.ts': "export const b = await import('./a.ts');\n",
    });
    expect(findCycles(dir).sort()).toEqual([
      ['contracts/shape.ts', 'server/shape.ts'],
      ['realtime/a.ts', 'realtime/b.ts'],
      ['server/config.ts', 'server/delivery/target.ts', 'server/logger.ts'],
    ]);
  });

  it('is not fooled by imports quoted in comments, nor by packages', () => {
    const dir = write({
      'server/a.ts':
        "// import { b } from './b.ts';\n/* import './b.ts' */\nimport { z } from 'zod';\nexport const a = z;\n",
      'server/b.ts': "import { a } from './a.ts';\nexport const b = a;\n",
    });
    expect(findCycles(dir)).toEqual([]);
  });
});
