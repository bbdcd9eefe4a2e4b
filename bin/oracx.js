#!/usr/bin/env node
// Thin launcher: the CLI is bundled into dist/cli/ (npm run build) so `oracx --help` stays fast.
import { run } from '../dist/cli/main.js';

run();
