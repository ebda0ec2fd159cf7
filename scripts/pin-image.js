#!/usr/bin/env node
// Pins the GitLab component's default image to the digest the release manifest records for
// VERSION (its image_sha256, written by action/update-manifest.js --image-sha256): the `image`
// input's default `NAME:VERSION` becomes `NAME:VERSION@sha256:HEX`, so that a job using the
// component's defaults runs exactly the image the release built and attested. The release
// workflow runs it in the release commit, and so does the rehearsal. Node built-ins only.
//
//   node scripts/pin-image.js VERSION [MANIFEST] [TEMPLATE]
//   (defaults: action/manifest.json, templates/login.yml)
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');

/// The `image` input's default in the component's spec: { line, name, tag, digest } (`line`, the
/// index of its line), or an error when there is none or it is not `NAME:TAG[@sha256:HEX]`.
function imageDefault(text) {
  const lines = text.split('\n');
  const spec = lines.indexOf('---');
  const start = lines.findIndex((l, i) => (spec < 0 || i < spec) && l === '    image:');
  if (start < 0) throw new Error('pin-image: the component has no image input');
  for (let i = start + 1; i < lines.length && lines[i].startsWith('      '); i++) {
    const m = lines[i].match(/^      default: "?([^"\s@]+):([^"\s@:/]+)(?:@sha256:([0-9a-f]{64}))?"?$/);
    if (m) return { line: i, name: m[1], tag: m[2], digest: m[3] || null };
    if (/^      default:/.test(lines[i])) throw new Error(`pin-image: the image input's default is not NAME:TAG[@sha256:HEX]: ${lines[i].trim()}`);
  }
  throw new Error('pin-image: the image input has no default');
}

/// `text` with the image input's default pinned to `digest`; its tag must be `version`.
function pin(text, version, digest) {
  if (!/^[0-9a-f]{64}$/.test(digest || '')) throw new Error(`pin-image: the manifest records no image SHA-256 for ${version}`);
  const found = imageDefault(text);
  if (found.tag !== version) throw new Error(`pin-image: the component's image is ${found.name}:${found.tag}, not the release's ${version}`);
  if (found.digest && found.digest !== digest) throw new Error(`pin-image: the component's image is pinned to another digest (${found.digest})`);
  const lines = text.split('\n');
  lines[found.line] = `      default: ${found.name}:${version}@sha256:${digest}`;
  return lines.join('\n');
}

function main(argv) {
  const [version, manifestFile = path.join(ROOT, 'action', 'manifest.json'), template = path.join(ROOT, 'templates', 'login.yml')] = argv;
  if (!version || argv.length > 3) throw new Error('usage: node scripts/pin-image.js VERSION [MANIFEST] [TEMPLATE]');
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  const digest = manifest.image_sha256 && Object.hasOwn(manifest.image_sha256, version) ? manifest.image_sha256[version] : '';
  fs.writeFileSync(template, pin(fs.readFileSync(template, 'utf8'), version, digest));
  const { name } = imageDefault(fs.readFileSync(template, 'utf8'));
  console.log(`${path.relative(process.cwd(), template)}: ${name}:${version}@sha256:${digest}`);
}

module.exports = { imageDefault, pin };

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
}
