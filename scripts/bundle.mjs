#!/usr/bin/env node
// Bundles the CLI into dist/cli/ with esbuild so `oracx --help` loads a handful of files instead of
// resolving dozens of ES modules (the start-up goal in bench/startup). Handlers stay lazy: their
// dynamic imports become separate chunks. Dependencies stay external (native addons, wasm files),
// except commander, which every run needs.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const external = Object.keys(pkg.dependencies).filter((name) => name !== 'commander');
const outdir = new URL('../dist/cli/', import.meta.url).pathname;
rmSync(outdir, { recursive: true, force: true });
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
  logLevel: 'warning',
});
