#!/usr/bin/env node
// A stand-in for truss-ci: records its argv and the environment it got (one JSON line a run, in
// $STUB_LOG) and prints what the real one prints on Azure Pipelines: the key masked first, and
// with --export-env a secret variable. Exits with $STUB_EXIT (login) or $STUB_EXIT_POST (logout).
'use strict';
const fs = require('node:fs');
const args = process.argv.slice(2);
const env = {};
for (const [name, value] of Object.entries(process.env)) {
  if (/^(INPUT_|SECRET_|VSTS_TASKVARIABLE_|BASETEN_)/.test(name)) env[name] = value;
}
fs.appendFileSync(process.env.STUB_LOG, `${JSON.stringify({ args, env })}\n`);
const escape = (s) => s.replace(/%/g, '%AZP25').replace(/;/g, '%3B').replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/]/g, '%5D');
const key = process.env.BASETEN_API_KEY;
if (args[0] === 'login') {
  if (key) process.stdout.write(`##vso[task.setsecret]${escape(key)}\n`);
  if (key && args.some((a) => a === '--export-env' || a.startsWith('--export-env='))) {
    process.stdout.write(`##vso[task.setvariable variable=BASETEN_API_KEY;issecret=true]${escape(key)}\n`);
  }
  process.stderr.write('Logged in (stub)\n');
  process.exit(Number(process.env.STUB_EXIT || 0));
}
process.stderr.write('Removed (stub)\n');
process.exit(Number(process.env.STUB_EXIT_POST || 0));
