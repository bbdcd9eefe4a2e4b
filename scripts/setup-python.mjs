#!/usr/bin/env node
// Creates or refreshes the git-ignored Python venv used by tests and benches (.venv-mlflow) from
// tests/python/requirements.txt. Idempotent: a stamp with the requirements' hash skips the install when nothing changed.
// Usage: node scripts/setup-python.mjs [--quiet]
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const VENV = path.join(ROOT, '.venv-mlflow');
export const PYTHON = path.join(VENV, 'bin', 'python');
const REQUIREMENTS = path.join(ROOT, 'tests', 'python', 'requirements.txt');
const STAMP = path.join(VENV, '.oracx-requirements.sha256');

function requirementsHash() {
  return createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex');
}

/** True when the venv exists and was installed from the current requirements file. */
export function pythonEnvReady() {
  return existsSync(PYTHON) && existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === requirementsHash();
}

/**
 * Makes the venv current; returns its python path. Throws with pip's output when the install fails (no PyPI access,
 * no python3 -m venv), so callers can fail loudly or skip with the reason.
 */
export function ensurePythonEnv({ quiet = false } = {}) {
  if (pythonEnvReady()) return PYTHON;
  const python3 = process.env.ORACX_PYTHON ?? 'python3';
  const log = (msg) => quiet || process.stderr.write(`[setup:python] ${msg}\n`);
  if (!existsSync(PYTHON)) {
    log(`creating ${path.relative(ROOT, VENV)} with ${python3}`);
    execFileSync(python3, ['-m', 'venv', VENV], { stdio: quiet ? 'pipe' : 'inherit' });
  }
  log(`installing ${path.relative(ROOT, REQUIREMENTS)} (mlflow, onnx, onnxruntime, schemathesis; a few minutes the first time)`);
  const pip = spawnSync(PYTHON, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', REQUIREMENTS], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (pip.status !== 0) {
    const out = `${pip.stdout ?? ''}${pip.stderr ?? ''}`
      .split('\n')
      .filter((l) => l && !l.startsWith('WARNING: Location'))
      .slice(-15);
    throw new Error(`pip install -r ${path.relative(ROOT, REQUIREMENTS)} failed (exit ${pip.status}):\n${out.join('\n')}`);
  }
  writeFileSync(STAMP, `${requirementsHash()}\n`);
  return PYTHON;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const python = ensurePythonEnv({ quiet: process.argv.includes('--quiet') });
    process.stdout.write(`${path.relative(process.cwd(), python)} ready\n`);
  } catch (error) {
    process.stderr.write(`setup:python: ${error.message}\n`);
    process.exitCode = 1;
  }
}
