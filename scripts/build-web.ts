/**
 * Builds the web app (web/ -> web/build) only when its sources changed since the last build.
 *
 * The stamp web/build/.source-hash holds a SHA-256 of every file under web/ (except build output, SvelteKit's
 * generated files and node_modules), of contracts/ (the schemas the web imports as #contracts/*) and of the root
 * package.json (its subpath imports) and package-lock.json. Same hash and web/build/index.html
 * present: the build is reused. Otherwise `vite build` runs in web/ and the stamp is written after it succeeds.
 *
 * Usage: node scripts/build-web.ts [--force]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const webDir = path.join(root, 'web');
const buildDir = path.join(webDir, 'build');
const stampFile = path.join(buildDir, '.source-hash');
const vite = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'vite.cmd' : 'vite');

/** Directories of web/ that are outputs, not sources. `node_modules` is skipped at any depth. */
const outputs = new Set([path.join(webDir, 'build'), path.join(webDir, '.svelte-kit')]);

/** Every source file under `dir`, as paths relative to the repository root with forward slashes, sorted. */
function sourceFiles(dir: string, found: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && !outputs.has(full)) sourceFiles(full, found);
    } else if (entry.isFile()) {
      found.push(path.relative(root, full).split(path.sep).join('/'));
    }
  }
  return found;
}

/** One hash over the names and contents of the web sources, the contracts, the package file and the lockfile. */
function sourceHash(): string {
  const files = [...sourceFiles(webDir), ...sourceFiles(path.join(root, 'contracts'))].sort();
  for (const file of ['package.json', 'package-lock.json']) if (existsSync(path.join(root, file))) files.push(file);
  const hash = createHash('sha256');
  for (const file of files) {
    const content = readFileSync(path.join(root, file));
    // Name, length, content: no two different trees can produce the same byte stream.
    hash.update(`${file}\0${content.length}\0`);
    hash.update(content);
  }
  return hash.digest('hex');
}

function readStamp(): string | null {
  try {
    return readFileSync(stampFile, 'utf8').trim();
  } catch {
    return null;
  }
}

function runViteBuild(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(vite, ['build'], { cwd: webDir, stdio: 'inherit' });
    child.once('error', (err) => {
      console.error(`web: could not start ${path.relative(root, vite)}: ${err.message}`);
      resolve(1);
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const force = process.argv.includes('--force');
const hash = sourceHash();
const short = hash.slice(0, 12);

if (!force && readStamp() === hash && existsSync(path.join(buildDir, 'index.html'))) {
  console.log(`web: reused the existing build, sources unchanged (${short})`);
} else {
  const started = performance.now();
  // A build that fails half-way must not leave a stamp that vouches for it.
  rmSync(stampFile, { force: true });
  const code = await runViteBuild();
  if (code !== 0) {
    console.error(`web: build failed (vite exited with ${code})`);
    process.exit(code);
  }
  if (!existsSync(path.join(buildDir, 'index.html'))) {
    console.error('web: build failed (web/build/index.html was not written)');
    process.exit(1);
  }
  writeFileSync(stampFile, `${hash}\n`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`web: built web/build in ${seconds}s (${short})`);
}
