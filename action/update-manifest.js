// Records a release's SHA-256 sums in action/manifest.json and makes it the default version:
//   node action/update-manifest.js VERSION DIR [MANIFEST] [--image-sha256=HEX]
// DIR holds the release's .sha256 files, two per target: truss-ci-TARGET.br.sha256, the asset
// the action downloads (it checks the bytes downloaded), and truss-ci-TARGET[.exe].sha256, the
// binary that asset decompresses to (it checks the file before every run). A target with only
// one of the two fails the release. --image-sha256 records the digest of the release's image
// (ghcr.io/baseten/truss-ci:VERSION, its multi-arch index) under image_sha256, which the GitLab
// component's default image is pinned to (scripts/pin-image.js). MANIFEST (default
// action/manifest.json) is for tests.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const args = process.argv.slice(2);
const image = args.filter((a) => a.startsWith('--image-sha256=')).map((a) => a.slice('--image-sha256='.length));
const [version, dir, file = path.join(__dirname, 'manifest.json')] = args.filter((a) => !a.startsWith('--'));
if (!version || !dir || image.length > 1 || args.some((a) => a.startsWith('--') && !a.startsWith('--image-sha256='))) {
  console.error('usage: node action/update-manifest.js VERSION DIR [MANIFEST] [--image-sha256=HEX]');
  process.exit(2);
}
if (image.length && !/^[0-9a-f]{64}$/.test(image[0])) throw new Error(`--image-sha256: ${JSON.stringify(image[0])} is not a SHA-256`);
const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
const assets = {};
const binaries = {};
for (const name of fs.readdirSync(dir).filter((n) => n.startsWith('truss-ci-') && n.endsWith('.sha256')).sort()) {
  const [hash, asset] = fs.readFileSync(path.join(dir, name), 'utf8').trim().split(/\s+/);
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`${name}: not a SHA-256`);
  if (`${asset}.sha256` !== name) throw new Error(`${name}: the sum of ${asset}, not of ${name.replace(/\.sha256$/, '')}`);
  const br = asset.endsWith('.br');
  const target = asset.replace(/^truss-ci-/, '').replace(br ? /\.br$/ : /\.exe$/, '');
  (br ? assets : binaries)[target] = hash;
}
const targets = [...new Set([...Object.keys(assets), ...Object.keys(binaries)])].sort();
if (targets.length === 0) throw new Error(`no truss-ci-*.sha256 files in ${dir}`);
for (const target of targets) {
  if (!assets[target]) throw new Error(`no SHA-256 of the .br asset for ${target} in ${dir}`);
  if (!binaries[target]) throw new Error(`no SHA-256 of the binary for ${target} in ${dir}`);
}
manifest.sha256[version] = assets;
manifest.binary_sha256 = { ...manifest.binary_sha256, [version]: binaries };
if (image.length) manifest.image_sha256 = { ...manifest.image_sha256, [version]: image[0] };
manifest.version = version;
fs.writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`${path.relative(process.cwd(), file)}: truss-ci ${version}, ${targets.length} targets${image.length ? ', the image' : ''}`);
