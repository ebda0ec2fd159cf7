#!/usr/bin/env node
// Packs the orb source (orb/) into one orb.yml, as `circleci orb pack` does: @orb.yml, then
// commands/, jobs/ and examples/ keyed by file name, each `key: <<include(path)>>` replaced by
// the file's content as a literal block at the right indentation. With VERSION (0.1.0 or v0.1.0),
// the default of every `version` parameter becomes VERSION. With --manifest (the release's
// action/manifest.json), the `release_sha256=''` line of an included script gets the SHA-256 of
// every release binary the manifest records for a target the orb installs, one `VERSION TARGET
// SHA256` a line, which install.sh checks a download against (VERSION must be among them).
// Node built-ins only.
//
//   node scripts/pack-orb.js [--dir=orb] [--out=FILE] [--manifest=FILE] [VERSION]   (stdout without --out)
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const SECTIONS = ['commands', 'jobs', 'examples'];
const INCLUDE = /^(\s*)((?:- )?[A-Za-z0-9_-]+:)\s*<<include\(([^()]+)\)>>\s*$/;
const VERSION = /^[0-9]+\.[0-9]+\.[0-9]+(?:[.+-][0-9A-Za-z.+-]+)?$/;
/// The targets install.sh downloads a release binary for.
const TARGETS = ['x86_64-unknown-linux-musl', 'aarch64-unknown-linux-musl', 'x86_64-apple-darwin', 'aarch64-apple-darwin'];
/// The line of a script that the release's digests replace.
const DIGESTS = /^release_sha256=''$/m;

function fail(message) {
  throw new Error(`pack-orb: ${message}`);
}

/// `file`'s text with every `key: <<include(path)>>` line replaced by `key: |` and the included
/// file's lines, indented two spaces past the key. An include anywhere else is an error. With
/// `digests` (lines), an included script's `release_sha256=''` line holds them; `filled` counts
/// the scripts that had one.
function expandIncludes(dir, file, text, digests, filled = { count: 0 }) {
  return text.split('\n').map((line, i) => {
    const m = line.match(INCLUDE);
    if (!m) {
      if (line.includes('<<include(')) fail(`${file}:${i + 1}: <<include(...)>> must be the whole value of a key`);
      return line;
    }
    const [, indent, key, rel] = m;
    const target = path.resolve(dir, rel);
    if (path.relative(dir, target).startsWith('..') || path.isAbsolute(rel)) fail(`${file}:${i + 1}: ${rel} is outside ${dir}`);
    let body = fs.readFileSync(target, 'utf8');
    if (!body.trim()) fail(`${rel} is empty`);
    if (digests && DIGESTS.test(body)) {
      body = body.replace(DIGESTS, `release_sha256='\n${digests.join('\n')}\n'`);
      filled.count += 1;
    }
    if (/^[ \t]/.test(body)) fail(`${rel} starts with white space, which a literal block cannot`);
    if (body.includes('\t') && /^\t/m.test(body)) fail(`${rel} indents with tabs, which a YAML block cannot hold`);
    const pad = `${indent}${key.startsWith('- ') ? '  ' : ''}  `;
    const lines = body.replace(/\n$/, '').split('\n').map((l) => (l ? pad + l : ''));
    return [`${indent}${key} |`, ...lines].join('\n');
  }).join('\n');
}

/// The `VERSION TARGET SHA256` lines for install.sh: every binary digest `manifest` (the release
/// manifest's shape) records for one of TARGETS. With `version`, it must record one for it.
function digestLines(manifest, version) {
  const table = manifest && manifest.binary_sha256;
  if (!table || typeof table !== 'object') fail('the manifest has no binary_sha256 table');
  const lines = [];
  for (const v of Object.keys(table).sort()) {
    if (!VERSION.test(v)) fail(`the manifest records a version ${JSON.stringify(v)}`);
    for (const t of TARGETS) {
      if (!Object.hasOwn(table[v] || {}, t)) continue;
      if (!/^[0-9a-f]{64}$/.test(table[v][t])) fail(`the manifest's SHA-256 of truss-ci ${v} (${t}) is not a SHA-256`);
      lines.push(`${v} ${t} ${table[v][t]}`);
    }
  }
  if (version !== undefined && !lines.some((l) => l.startsWith(`${version} `))) {
    fail(`the manifest records no binary of truss-ci ${version} for ${TARGETS.join(', ')}`);
  }
  return lines;
}

/// Sets the default of every `version:` parameter definition (a bare `version:` key whose
/// children hold a non-empty `default:`) to `version`.
function stamp(text, version) {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i].match(/^(\s*)version:\s*$/);
    if (!m) continue;
    for (let j = i + 1; j < lines.length; j++) {
      const indent = lines[j].match(/^(\s*)/)[1].length;
      if (lines[j].trim() && indent <= m[1].length) break;
      const d = lines[j].match(/^(\s*default:\s*)(.*)$/);
      if (d && !/^(""|'')?$/.test(d[2].trim())) lines[j] = `${d[1]}"${version}"`;
    }
  }
  return lines.join('\n');
}

function indentBlock(text, pad) {
  return text.replace(/\s+$/, '').split('\n').map((l) => (l ? pad + l : '')).join('\n');
}

/// The packed orb, as text; with `manifest` (parsed), its binary digests in install.sh.
function pack(dir, version, manifest) {
  dir = path.resolve(dir);
  if (version !== undefined) {
    version = String(version).replace(/^v/, '');
    if (!VERSION.test(version)) fail(`${JSON.stringify(version)} is not a version such as 0.1.0`);
  }
  const digests = manifest === undefined ? undefined : digestLines(manifest, version);
  const filled = { count: 0 };
  const head = fs.readFileSync(path.join(dir, '@orb.yml'), 'utf8');
  const out = [head.replace(/\s+$/, '')];
  for (const section of SECTIONS) {
    if (new RegExp(`^${section}:`, 'm').test(head)) fail(`@orb.yml defines ${section}: keep them in ${section}/`);
    const sub = path.join(dir, section);
    if (!fs.existsSync(sub)) continue;
    const files = fs.readdirSync(sub).filter((f) => /\.ya?ml$/.test(f)).sort();
    if (!files.length) continue;
    out.push('', `${section}:`);
    for (const f of files) {
      const rel = `${section}/${f}`;
      let text = expandIncludes(dir, rel, fs.readFileSync(path.join(sub, f), 'utf8'), digests, filled);
      if (version !== undefined && section !== 'examples') text = stamp(text, version);
      out.push(`  ${f.replace(/\.ya?ml$/, '')}:`, indentBlock(text, '    '));
    }
  }
  if (digests && filled.count === 0) fail(`no included script has a release_sha256='' line for the manifest's digests`);
  return `${out.join('\n')}\n`;
}

function main(argv) {
  let dir = path.join(__dirname, '..', 'orb');
  let out;
  let version;
  let manifest;
  for (const arg of argv) {
    if (arg.startsWith('--dir=')) dir = arg.slice(6);
    else if (arg.startsWith('--out=')) out = arg.slice(6);
    else if (arg.startsWith('--manifest=')) manifest = JSON.parse(fs.readFileSync(arg.slice(11), 'utf8'));
    else if (!arg.startsWith('-') && version === undefined) version = arg;
    else fail(`unknown argument ${JSON.stringify(arg)}; usage: pack-orb.js [--dir=DIR] [--out=FILE] [--manifest=FILE] [VERSION]`);
  }
  const text = pack(dir, version, manifest);
  if (out) fs.writeFileSync(out, text);
  else process.stdout.write(text);
}

module.exports = { pack, stamp, expandIncludes, digestLines, TARGETS };

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
}
