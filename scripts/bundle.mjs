#!/usr/bin/env node
// Bundles the CLI into dist/cli/ with esbuild so `oracx --help` loads a handful of files instead of
// resolving dozens of ES modules (the start-up goal in bench/startup). Handlers stay lazy: their
// dynamic imports become separate chunks. Dependencies stay external (native addons, wasm files),
// except commander, which every run needs, and the pure-JS kysely, zod and yaml, whose hundreds of ES modules cost
// more to resolve than the store query of a command that opens the store (bench/pipeline-run: `oracx run` with
// nothing changed). Nothing outside oracx's code receives their objects, so one bundled copy is safe.
import { build } from 'esbuild';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const BUNDLED = new Set(['commander', 'kysely', 'zod', 'yaml', 'cli-table3']);
// cli-table3 requires @colors/colors only to colour a table (inside a try): left to a real require at run time.
const external = [...Object.keys(pkg.dependencies).filter((name) => !BUNDLED.has(name)), '@colors/colors'];
const outdir = new URL('../dist/cli/', import.meta.url).pathname;
rmSync(outdir, { recursive: true, force: true });
/**
 * `import { z } from 'zod'` binds zod's namespace object, which esbuild keeps whole: every schema kind, JSON Schema
 * conversion and all 50 locales (454 kB compiled by any command that validates anything). `import * as z` with
 * `z.object(…)` property reads is what esbuild can tree-shake (97 kB), so the sources' imports are read that way.
 * The two forms bind the same functions; only the namespace's own `z` and `default` keys differ, which oracx never reads.
 */
const zodNamespaceImports = {
  name: 'zod-namespace-imports',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes('/node_modules/')) return undefined;
      const text = await readFile(args.path, 'utf8');
      return { contents: text.replace(/^import \{ z \} from 'zod';$/gm, "import * as z from 'zod';"), loader: 'ts' };
    });
  },
};

await build({
  entryPoints: [new URL('../src/main.ts', import.meta.url).pathname],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  entryNames: '[name]',
  external,
  minify: true,
  sourcemap: true,
  // commander is CommonJS; inside an ES bundle its require() calls need a real require.
  banner: { js: "import { createRequire as __oracxRequire } from 'node:module'; const require = __oracxRequire(import.meta.url);" },
  plugins: [zodNamespaceImports],
  // This build's id: what oracx caches from one run to the next (pipelines/pipeline-spec-cache.ts) is keyed by it.
  define: { __ORACX_BUILD__: JSON.stringify(randomUUID()) },
  logLevel: 'warning',
});
