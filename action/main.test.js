// Tests for the action shim with Node's own runner: a fake release served from 127.0.0.1.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');

const { main, TARGETS, assetName, noProxy } = require('./main.js');

// A stand-in for truss-ci (a Node script: /bin/sh would drop the runner's INPUT_API-KEY, whose
// name holds a hyphen).
const FAKE = `#!/usr/bin/env node
const inputs = Object.keys(process.env).filter((k) => k.startsWith('INPUT_')).sort();
require('fs').writeFileSync(process.env.FAKE_LOG,
  'ARGS ' + process.argv.slice(2).join(' ') + '\\n' + inputs.map((k) => k + '=' + process.env[k] + '\\n').join(''));
process.exit(Number(process.env.FAKE_EXIT || 0));
`;
const TARGET = TARGETS['Linux/X64'];
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');
const BR = require('node:zlib').brotliCompressSync(FAKE);

async function setup({ replies = [], manifestSha = sha(BR), body = BR } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'truss-ci-action-'));
  const hits = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url);
    const status = replies.length ? replies.shift() : 200;
    if (status !== 200) {
      res.writeHead(status);
      return res.end('no');
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    res.end(body);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const manifest = path.join(dir, 'manifest.json');
  const sums = manifestSha ? { '0.1.0': { [TARGET]: manifestSha } } : {};
  fs.writeFileSync(manifest, JSON.stringify({ version: '0.1.0', repository: 'x/y', sha256: sums }));
  fs.writeFileSync(path.join(dir, 'state'), '');
  const env = {
    PATH: process.env.PATH,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_TOOL_CACHE: path.join(dir, 'cache'),
    GITHUB_STATE: path.join(dir, 'state'),
    TRUSS_CI_MANIFEST_PATH: manifest,
    TRUSS_CI_RELEASE_BASE_URL: `http://127.0.0.1:${server.address().port}/releases`,
    FAKE_LOG: path.join(dir, 'log'),
    'INPUT_API-KEY': 'SENTINEL.key',
    INPUT_REMOTE: 'ci',
    INPUT_CLEANUP: 'true',
  };
  const close = () => new Promise((r) => server.close(r));
  const log = () => fs.readFileSync(env.FAKE_LOG, 'utf8');
  const state = () => fs.readFileSync(env.GITHUB_STATE, 'utf8');
  return { dir, env, hits, close, log, state };
}

test('downloads, verifies, runs login with inputs in env (never argv) and reuses the tool cache', async () => {
  const t = await setup();
  try {
    assert.equal(await main(t.env), 0);
    assert.deepEqual(t.hits, [`/releases/v0.1.0/${assetName(TARGET)}`]);
    const log = t.log();
    assert.match(log, /^ARGS login\n/);
    assert.match(log, /^INPUT_API-KEY=SENTINEL\.key$/m);
    assert.match(log, /^INPUT_REMOTE=ci$/m);
    assert.doesNotMatch(log.split('\n')[0], /SENTINEL/);
    assert.match(t.state(), /^TRUSS_CI_ACTION_POST<<ghadelimiter_/);
    assert.match(t.state(), /^TRUSS_CI_ACTION_BINARY<<ghadelimiter_/m);
    assert.equal(await main(t.env), 0);
    assert.equal(t.hits.length, 1, 'the second run uses the tool cache');
  } finally {
    await t.close();
  }
});

test('a checksum mismatch fails closed and deletes the download', async () => {
  const t = await setup({ manifestSha: sha('something else') });
  try {
    assert.equal(await main(t.env), 1);
    const dir = path.join(t.env.RUNNER_TOOL_CACHE, 'truss-ci', '0.1.0', TARGET);
    assert.deepEqual(fs.readdirSync(dir), [], 'nothing is left in the cache');
    assert.ok(!fs.existsSync(t.env.FAKE_LOG), 'the binary never ran');
  } finally {
    await t.close();
  }
});

test('a version missing from the manifest fails before any download', async () => {
  const t = await setup({ manifestSha: null });
  try {
    assert.equal(await main(t.env), 1);
    assert.equal(t.hits.length, 0);
  } finally {
    await t.close();
  }
});

test('404 fails without retrying; 503 is retried', async () => {
  let t = await setup({ replies: [404] });
  try {
    assert.equal(await main(t.env), 1);
    assert.equal(t.hits.length, 1);
  } finally {
    await t.close();
  }
  t = await setup({ replies: [503] });
  try {
    assert.equal(await main(t.env), 0);
    assert.equal(t.hits.length, 2);
  } finally {
    await t.close();
  }
});

test('the exit code passes through, and truss-ci-path skips the download', async () => {
  const t = await setup();
  try {
    const local = path.join(t.dir, 'local-truss-ci');
    fs.writeFileSync(local, FAKE, { mode: 0o755 });
    const env = { ...t.env, 'INPUT_TRUSS-CI-PATH': local, FAKE_EXIT: '3' };
    assert.equal(await main(env), 3);
    assert.equal(t.hits.length, 0);
  } finally {
    await t.close();
  }
});

test('the post step runs logout --post unless cleanup is false', async () => {
  const t = await setup();
  try {
    const local = path.join(t.dir, 'local-truss-ci');
    fs.writeFileSync(local, FAKE, { mode: 0o755 });
    const post = { ...t.env, STATE_TRUSS_CI_ACTION_POST: 'true', STATE_TRUSS_CI_ACTION_BINARY: local };
    assert.equal(await main(post), 0);
    assert.match(t.log(), /^ARGS logout --post\n/);
    fs.rmSync(t.env.FAKE_LOG);
    assert.equal(await main({ ...post, INPUT_CLEANUP: 'false' }), 0);
    assert.ok(!fs.existsSync(t.env.FAKE_LOG));
    assert.equal(await main({ ...post, STATE_TRUSS_CI_ACTION_BINARY: '' }), 0, 'main failed early: nothing to undo');
  } finally {
    await t.close();
  }
});

test('unknown runners and plain-http mirrors are refused', async () => {
  const t = await setup();
  try {
    assert.equal(await main({ ...t.env, RUNNER_ARCH: 'ARM' }), 1);
    assert.equal(await main({ ...t.env, TRUSS_CI_RELEASE_BASE_URL: 'http://example.com/r' }), 1);
    assert.equal(t.hits.length, 0);
  } finally {
    await t.close();
  }
});

test('NO_PROXY matching', () => {
  const env = { NO_PROXY: 'localhost,.internal, example.com' };
  assert.ok(noProxy(env, 'localhost'));
  assert.ok(noProxy(env, 'a.internal'));
  assert.ok(noProxy(env, 'sub.example.com'));
  assert.ok(!noProxy(env, 'github.com'));
  assert.ok(noProxy({ no_proxy: '*' }, 'github.com'));
});
