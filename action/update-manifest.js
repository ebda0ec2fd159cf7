// Records a release's SHA-256 sums in action/manifest.json and makes it the default version:
//   node action/update-manifest.js VERSION DIR   (DIR holds the release's truss-ci-*.br.sha256 files:
//   the action downloads the brotli-compressed assets, and checks the bytes it downloaded)
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const [version, dir] = process.argv.slice(2);
if (!version || !dir) {
  console.error('usage: node action/update-manifest.js VERSION DIR');
  process.exit(2);
}
const file = path.join(__dirname, 'manifest.json');
const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
const sums = {};
for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.br.sha256')).sort()) {
  const [hash, asset] = fs.readFileSync(path.join(dir, name), 'utf8').trim().split(/\s+/);
  const target = asset.replace(/^truss-ci-/, '').replace(/\.br$/, '');
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`${name}: not a SHA-256`);
  sums[target] = hash;
}
if (Object.keys(sums).length === 0) throw new Error(`no *.br.sha256 files in ${dir}`);
manifest.sha256[version] = sums;
manifest.version = version;
fs.writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`action/manifest.json: truss-ci ${version}, ${Object.keys(sums).length} targets`);
