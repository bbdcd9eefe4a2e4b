#!/usr/bin/env node
// Thin launcher: everything lives in dist/ so `oracx --help` stays fast.
import { run } from '../dist/src/main.js';

run();
