#!/usr/bin/env node
// Packs the orb source (orb/) into one orb.yml, as `circleci orb pack` does: @orb.yml, then
// commands/, jobs/ and examples/ keyed by file name, each `key: <<include(path)>>` replaced by
// the file's content as a literal block at the right indentation. With VERSION (0.1.0 or v0.1.0),
// the default of every `version` parameter becomes VERSION. Node built-ins only.
//
//   node scripts/pack-orb.js [--dir=orb] [--out=FILE] [VERSION]     (stdout without --out)
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const SECTIONS = ['commands', 'jobs', 'examples'];
const INCLUDE = /^(\s*)((?:- )?[A-Za-z0-9_-]+:)\s*<<include\(([^()]+)\)>>\s*$/;
const VERSION = /^[0-9]+\.[0-9]+\.[0-9]+(?:[.+-][0-9A-Za-z.+-]+)?$/;

function fail(message) {
  throw new Error(`pack-orb: ${message}`);
}

/// `file`'s text with every `key: <<include(path)>>` line replaced by `key: |` and the included
/// file's lines, indented two spaces past the key. An include anywhere else is an error.
function expandIncludes(dir, file, text) {
  return text.split('\n').map((line, i) => {
    const m = line.match(INCLUDE);
    if (!m) {
      if (line.includes('<<include(')) fail(`${file}:${i + 1}: <<include(...)>> must be the whole value of a key`);
      return line;
    }
    const [, indent, key, rel] = m;
    const target = path.resolve(dir, rel);
    if (path.relative(dir, target).startsWith('..') || path.isAbsolute(rel)) fail(`${file}:${i + 1}: ${rel} is outside ${dir}`);
    const body = fs.readFileSync(target, 'utf8');
    if (!body.trim()) fail(`${rel} is empty`);
    if (/^[ \t]/.test(body)) fail(`${rel} starts with white space, which a literal block cannot`);
    if (body.includes('\t') && /^\t/m.test(body)) fail(`${rel} indents with tabs, which a YAML block cannot hold`);
    const pad = `${indent}${key.startsWith('- ') ? '  ' : ''}  `;
    const lines = body.replace(/\n$/, '').split('\n').map((l) => (l ? pad + l : ''));
    return [`${indent}${key} |`, ...lines].join('\n');
  }).join('\n');
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

/// The packed orb, as text.
function pack(dir, version) {
  dir = path.resolve(dir);
  if (version !== undefined) {
    version = String(version).replace(/^v/, '');
    if (!VERSION.test(version)) fail(`${JSON.stringify(version)} is not a version such as 0.1.0`);
  }
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
      let text = expandIncludes(dir, rel, fs.readFileSync(path.join(sub, f), 'utf8'));
      if (version !== undefined && section !== 'examples') text = stamp(text, version);
      out.push(`  ${f.replace(/\.ya?ml$/, '')}:`, indentBlock(text, '    '));
    }
  }
  return `${out.join('\n')}\n`;
}

function main(argv) {
  let dir = path.join(__dirname, '..', 'orb');
  let out;
  let version;
  for (const arg of argv) {
    if (arg.startsWith('--dir=')) dir = arg.slice(6);
    else if (arg.startsWith('--out=')) out = arg.slice(6);
    else if (!arg.startsWith('-') && version === undefined) version = arg;
    else fail(`unknown argument ${JSON.stringify(arg)}; usage: pack-orb.js [--dir=DIR] [--out=FILE] [VERSION]`);
  }
  const text = pack(dir, version);
  if (out) fs.writeFileSync(out, text);
  else process.stdout.write(text);
}

module.exports = { pack, stamp, expandIncludes };

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
}
