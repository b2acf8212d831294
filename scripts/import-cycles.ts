// Finds import cycles among the server-side folders: `node scripts/import-cycles.ts` prints each and exits 1.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folders whose modules must form no cycle (type-only imports count: they tie the modules together too). */
export const CHECKED = ['server', 'realtime', 'mail', 'mail-gateway', 'db', 'contracts'];

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/g;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function sources(root: string, dir: string): string[] {
  if (!existsSync(path.join(root, dir))) return [];
  const entries = readdirSync(path.join(root, dir), { withFileTypes: true });
  return entries.flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sources(root, rel);
    return /\.ts$/.test(e.name) && !/\.(spec|test)\.ts$/.test(e.name) ? [rel] : [];
  });
}

/** The project files a module imports: relative paths and the `#contracts/*` subpath, resolved from `root`. */
export function importsOf(root: string, file: string, text: string): string[] {
  // Comments may quote imports ("import x from './y'" in a doc line): drop them first.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const specs = [...code.matchAll(IMPORT), ...code.matchAll(DYNAMIC)].map((m) => m[1]!);
  return specs.flatMap((spec) => {
    if (spec.startsWith('#contracts/')) return [`contracts/${spec.slice('#contracts/'.length)}.ts`];
    if (spec.startsWith('.')) return [path.normalize(path.join(path.dirname(file), spec))];
    return [];
  });
}

/** Every cycle's modules (strongly connected components of more than one module, or a module importing itself). */
export function findCycles(root: string, folders = CHECKED): string[][] {
  const files = folders.flatMap((d) => sources(root, d));
  const known = new Set(files);
  const graph = new Map(
    files.map((f) => [f, importsOf(root, f, readFileSync(path.join(root, f), 'utf8')).filter((t) => known.has(t))]),
  );
  // Tarjan's algorithm, iterative: the import graph can be deep.
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  for (const start of files) {
    if (index.has(start)) continue;
    const work: { node: string; edge: number }[] = [{ node: start, edge: 0 }];
    index.set(start, next);
    low.set(start, next++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const frame = work.at(-1)!;
      const edges = graph.get(frame.node)!;
      if (frame.edge < edges.length) {
        const to = edges[frame.edge++]!;
        if (!index.has(to)) {
          index.set(to, next);
          low.set(to, next++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, edge: 0 });
        } else if (onStack.has(to)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        continue;
      }
      work.pop();
      const parent = work.at(-1);
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) !== index.get(frame.node)) continue;
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== frame.node);
      if (component.length > 1 || edges.includes(frame.node)) cycles.push(component.sort());
    }
  }
  return cycles;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const cycles = findCycles(root);
  for (const c of cycles) console.error(`import cycle: ${c.join(' <-> ')}`);
  if (cycles.length) process.exit(1);
  console.log(`no import cycle in ${CHECKED.join(', ')}`);
}
