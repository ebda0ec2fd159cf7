// Tests for the action shim with Node's own runner: a fake release served from 127.0.0.1. The
// manifest and the release base are passed to main() as options, as no variable can.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { test } = require('node:test');

const { main, TARGETS, assetName, noProxy, checkPrivateDir } = require('./main.js');

// A stand-in for truss-ci (a Node script: /bin/sh would drop the runner's INPUT_API-KEY, whose
// name holds a hyphen).
const FAKE = `#!/usr/bin/env node
const inputs = Object.keys(process.env).filter((k) => k.startsWith('INPUT_') || k === 'BASETEN_API_KEY').sort();
require('fs').writeFileSync(process.env.FAKE_LOG,
  'ARGS ' + process.argv.slice(2).join(' ') + '\\n' + inputs.map((k) => k + '=' + process.env[k] + '\\n').join(''));
process.exit(Number(process.env.FAKE_EXIT || 0));
`;
// What another user (or an earlier job) leaves behind: it must never run.
const PLANTED = `#!/usr/bin/env node
require('fs').writeFileSync(process.env.FAKE_LOG, 'PLANTED ' + process.env['INPUT_API-KEY']);
`;
const TARGET = TARGETS['Linux/X64'];
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');
const BR = require('node:zlib').brotliCompressSync(FAKE);
const NOBODY = 65534;
const POSIX = process.platform !== 'win32';
const ROOT = POSIX && process.getuid() === 0;

function serve(body, replies = []) {
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
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        hits,
        url: `http://127.0.0.1:${server.address().port}/releases`,
        close: () => new Promise((r) => server.close(r)),
      }),
    );
  });
}

async function setup({ replies = [], manifestSha = sha(BR), binarySha = sha(FAKE), body = BR } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'truss-ci-action-'));
  const srv = await serve(body, replies);
  const manifest = {
    version: '0.1.0',
    repository: 'x/y',
    sha256: manifestSha ? { '0.1.0': { [TARGET]: manifestSha } } : {},
    binary_sha256: binarySha ? { '0.1.0': { [TARGET]: binarySha } } : {},
  };
  fs.writeFileSync(path.join(dir, 'state'), '');
  fs.mkdirSync(path.join(dir, 'temp'));
  const env = {
    PATH: process.env.PATH,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_TOOL_CACHE: path.join(dir, 'cache'),
    RUNNER_TEMP: path.join(dir, 'temp'),
    GITHUB_STATE: path.join(dir, 'state'),
    FAKE_LOG: path.join(dir, 'log'),
    'INPUT_API-KEY': 'SENTINEL.key',
    INPUT_REMOTE: 'ci',
    INPUT_CLEANUP: 'true',
  };
  const options = { manifest, releaseBaseUrl: srv.url };
  const log = () => (fs.existsSync(env.FAKE_LOG) ? fs.readFileSync(env.FAKE_LOG, 'utf8') : '');
  const state = () => fs.readFileSync(env.GITHUB_STATE, 'utf8');
  // The STATE_* env the runner gives the post step, parsed from what main saved.
  const postEnv = () => {
    const out = { ...env };
    for (const m of state().matchAll(/^([^<\n]+)<<(\S+)\n([\s\S]*?)\n\2\n/gm)) out[`STATE_${m[1]}`] = m[3];
    return out;
  };
  const cached = (root = env.RUNNER_TOOL_CACHE) => path.join(root, 'truss-ci', '0.1.0', TARGET, 'truss-ci');
  const close = async () => {
    await srv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { dir, env, options, hits: srv.hits, close, log, state, postEnv, cached };
}

/// Runs main() and returns its code and what it wrote to stdout (annotations).
async function quiet(env, options) {
  let out = '';
  const stdout = { write: (chunk) => (out += chunk, true) };
  return { code: await main(env, { ...options, stdout }), out };
}

async function run(env, options) {
  return (await quiet(env, options)).code;
}

function plant(file, text = PLANTED) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode: 0o755 });
  fs.writeFileSync(`${path.dirname(file)}.complete`, '');
}

test('downloads, verifies, runs login with inputs as flags and the key in env (never argv) and reuses the tool cache', async () => {
  const t = await setup();
  try {
    assert.equal(await run(t.env, t.options), 0);
    assert.deepEqual(t.hits, [`/releases/v0.1.0/${assetName(TARGET)}`]);
    const log = t.log();
    assert.match(log, /^ARGS login --remote=ci --from-env\n/);
    assert.match(log, /^BASETEN_API_KEY=SENTINEL\.key$/m);
    assert.doesNotMatch(log, /^INPUT_/m);
    assert.doesNotMatch(log.split('\n')[0], /SENTINEL/);
    assert.match(t.state(), /^TRUSS_CI_ACTION_POST<<ghadelimiter_/);
    assert.equal(t.postEnv().STATE_TRUSS_CI_ACTION_BINARY, fs.realpathSync(t.cached()));
    assert.equal(t.postEnv().STATE_TRUSS_CI_ACTION_SHA256, sha(FAKE));
    if (POSIX) {
      for (const d of ['truss-ci', 'truss-ci/0.1.0', `truss-ci/0.1.0/${TARGET}`]) {
        assert.equal(fs.statSync(path.join(t.env.RUNNER_TOOL_CACHE, d)).mode & 0o777, 0o700, d);
      }
    }
    assert.equal(await run(t.env, t.options), 0);
    assert.equal(t.hits.length, 1, 'the second run uses the tool cache');
  } finally {
    await t.close();
  }
});

test('a checksum mismatch fails closed and deletes the download', async () => {
  const t = await setup({ manifestSha: sha('something else') });
  try {
    const { code, out } = await quiet(t.env, t.options);
    assert.equal(code, 1);
    assert.match(out, /SHA-256 mismatch/);
    assert.deepEqual(fs.readdirSync(path.dirname(t.cached())), [], 'nothing is left in the cache');
    assert.equal(t.log(), '', 'the binary never ran');
  } finally {
    await t.close();
  }
});

test('a version missing from the manifest, or missing its binary digest, fails before any download', async () => {
  for (const missing of [{ manifestSha: null }, { binarySha: null }]) {
    const t = await setup(missing);
    try {
      const { code, out } = await quiet(t.env, t.options);
      assert.equal(code, 1);
      assert.match(out, /no SHA-256 for truss-ci 0\.1\.0/);
      assert.equal(t.hits.length, 0);
    } finally {
      await t.close();
    }
  }
});

test('a decompressed binary whose digest is not the manifest\'s never runs', async () => {
  const t = await setup({ binarySha: sha('another binary') });
  try {
    const { code, out } = await quiet(t.env, t.options);
    assert.equal(code, 1);
    assert.match(out, /refusing to run .*its SHA-256 is/);
    assert.equal(t.log(), '');
    assert.equal(t.state().includes('TRUSS_CI_ACTION_BINARY'), false, 'post has nothing to run');
  } finally {
    await t.close();
  }
});

test('404 fails without retrying; 503 is retried', async () => {
  let t = await setup({ replies: [404] });
  try {
    assert.equal((await quiet(t.env, t.options)).code, 1);
    assert.equal(t.hits.length, 1);
  } finally {
    await t.close();
  }
  t = await setup({ replies: [503] });
  try {
    assert.equal((await quiet(t.env, t.options)).code, 0);
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
    assert.equal(await run(env, t.options), 3);
    assert.equal(t.hits.length, 0);
    assert.equal(t.postEnv().STATE_TRUSS_CI_ACTION_SHA256, sha(FAKE));
  } finally {
    await t.close();
  }
});

test('baseten-profile: true names the profile after the remote, a name is passed as the value of one flag', async () => {
  const t = await setup();
  try {
    for (const [value, flag] of [['true', '--baseten-profile '], ['deploy', '--baseten-profile=deploy '], ['-x', '--baseten-profile=-x '], ['false', ''], ['', '']]) {
      assert.equal(await run({ ...t.env, 'INPUT_BASETEN-PROFILE': value }, t.options), 0);
      const args = t.log().split('\n')[0];
      assert.equal(args, `ARGS login --remote=ci ${flag}--from-env`, value);
    }
  } finally {
    await t.close();
  }
});

test('job-key inputs become flags, and the post step gets the minting key as main hands it to login', async () => {
  const t = await setup();
  try {
    const env = {
      ...t.env,
      'INPUT_JOB-KEY': 'workspace-invoke',
      'INPUT_MODEL-IDS': 'm1, m2\nm3',
      INPUT_TEAM: 'ml',
      'INPUT_JOB-KEY-TTL': '2h',
      'INPUT_API-URL': 'https://api.example',
    };
    assert.equal(await run(env, t.options), 0);
    assert.match(t.log(), /^ARGS login --remote=ci --api-url=https:\/\/api\.example --job-key=workspace-invoke --model-id=m1 --model-id=m2 --model-id=m3 --team=ml --job-key-ttl=2h --from-env\n/);
    const post = { ...env, ...t.postEnv(), BASETEN_API_KEY: 'MINTED.key' };
    assert.equal(await run(post, t.options), 0);
    const log = t.log();
    assert.match(log, /^ARGS logout --post --api-url=https:\/\/api\.example --from-env\n/);
    assert.match(log, /^BASETEN_API_KEY=SENTINEL\.key$/m, 'the input, not the exported job key');
    assert.doesNotMatch(log, /^INPUT_/m);
    assert.equal(await run({ ...env, 'INPUT_JOB-KEY': 'personal' }, t.options), 2);
    assert.equal(await run({ ...env, 'INPUT_JOB-KEY': 'true' }, t.options), 0);
    assert.match(t.log(), /^ARGS login --remote=ci --api-url=https:\/\/api\.example --job-key --model-id=m1/);
  } finally {
    await t.close();
  }
});

test('the post step runs logout --post unless cleanup is false', async () => {
  const t = await setup();
  try {
    assert.equal(await run(t.env, t.options), 0);
    const post = t.postEnv();
    assert.equal(await run(post, t.options), 0);
    assert.match(t.log(), /^ARGS logout --post\n/);
    fs.rmSync(t.env.FAKE_LOG);
    assert.equal(await run({ ...post, INPUT_CLEANUP: 'false' }, t.options), 0);
    assert.equal(t.log(), '');
    assert.equal(await run({ ...post, STATE_TRUSS_CI_ACTION_BINARY: '' }, t.options), 0, 'main failed early: nothing to undo');
  } finally {
    await t.close();
  }
});

test('unknown runners and plain-http mirrors are refused', async () => {
  const t = await setup();
  try {
    assert.equal((await quiet({ ...t.env, RUNNER_ARCH: 'ARM' }, t.options)).code, 1);
    const { code, out } = await quiet(t.env, { ...t.options, releaseBaseUrl: 'http://example.com/r' });
    assert.equal(code, 1);
    assert.match(out, /HTTPS only/);
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

// --- A shared runner: what earlier jobs and other users leave behind ---------------------------

test('a binary planted in the tool cache is hashed and refused, every run', async () => {
  const t = await setup();
  try {
    plant(t.cached());
    const { code, out } = await quiet(t.env, t.options);
    assert.equal(code, 1);
    assert.match(out, /refusing to run .*truss-ci: its SHA-256 is [0-9a-f]{64}, expected/);
    assert.equal(t.log(), '', 'the planted binary never ran');
    assert.equal(t.hits.length, 0);
    // A good copy, verified once, then replaced: the next run hashes it again.
    fs.rmSync(t.cached());
    assert.equal(await run(t.env, t.options), 0);
    plant(t.cached());
    assert.equal((await quiet(t.env, t.options)).code, 1);
    assert.match(t.log(), /^ARGS login/, 'only the verified binary ran');
  } finally {
    await t.close();
  }
});

test('a cached binary that others can write, or that is a symlink, is refused', { skip: !POSIX }, async () => {
  const t = await setup();
  try {
    assert.equal(await run(t.env, t.options), 0);
    fs.chmodSync(t.cached(), 0o757);
    assert.equal((await quiet(t.env, t.options)).code, 1);
    fs.chmodSync(t.cached(), 0o755);
    const real = path.join(t.dir, 'elsewhere');
    fs.renameSync(t.cached(), real);
    fs.symlinkSync(real, t.cached());
    const { code, out } = await quiet(t.env, t.options);
    assert.equal(code, 1);
    assert.match(out, /refusing to run/);
  } finally {
    await t.close();
  }
});

test('a tool cache another user owns or can write is not used: RUNNER_TEMP is', { skip: !ROOT }, async () => {
  const unsafe = [
    ['a world-writable cache', (root) => fs.chmodSync(root, 0o777)],
    ['a group-writable cache', (root) => fs.chmodSync(root, 0o775)],
    ['a cache owned by another user', (root) => fs.chownSync(root, NOBODY, NOBODY)],
    ['a truss-ci directory owned by another user', (root) => fs.chownSync(path.join(root, 'truss-ci'), NOBODY, NOBODY)],
    ['a version directory writable by others', (root) => fs.chmodSync(path.join(root, 'truss-ci', '0.1.0'), 0o777)],
    ['a symlinked target directory', (root) => {
      const dir = path.join(root, 'truss-ci', '0.1.0', TARGET);
      fs.renameSync(dir, `${dir}.real`);
      fs.symlinkSync(`${dir}.real`, dir);
    }],
    ['an ancestor writable by others', (root) => fs.chmodSync(path.dirname(root), 0o777)],
    ['an ancestor owned by another user', (root) => fs.chownSync(path.dirname(root), NOBODY, NOBODY)],
  ];
  for (const [name, spoil] of unsafe) {
    const t = await setup();
    try {
      // The cache sits one level down, so that its parent can be spoiled too.
      const root = path.join(t.dir, 'runner', 'cache');
      const env = { ...t.env, RUNNER_TOOL_CACHE: root };
      plant(t.cached(root));
      spoil(root);
      const { code, out } = await quiet(env, t.options);
      assert.equal(code, 0, name);
      assert.match(out, /^truss-ci action: RUNNER_TOOL_CACHE cannot hold truss-ci safely \(.+\); using .*temp/m, name);
      assert.match(t.log(), /^ARGS login/, `${name}: the verified download ran, not the planted binary`);
      assert.equal(t.postEnv().STATE_TRUSS_CI_ACTION_BINARY, fs.realpathSync(t.cached(env.RUNNER_TEMP)), name);
      assert.equal(fs.readFileSync(t.cached(root), 'utf8'), PLANTED, `${name}: the cache was not written`);
    } finally {
      await t.close();
    }
  }
});

test('the directory rule: no one but this user and root can write the directory or an ancestor; sticky ancestors are fine', { skip: !ROOT }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'truss-ci-modes-'));
  try {
    const leaf = path.join(dir, 'a', 'b');
    fs.mkdirSync(leaf, { recursive: true, mode: 0o700 });
    const accepted = () => {
      try {
        checkPrivateDir(leaf);
        return true;
      } catch {
        return false;
      }
    };
    for (let mode = 0; mode < 0o10000; mode++) {
      fs.chmodSync(leaf, mode);
      assert.equal(accepted(), !(mode & 0o022), `leaf ${mode.toString(8)}`);
      fs.chmodSync(leaf, 0o700);
      fs.chmodSync(path.dirname(leaf), mode);
      assert.equal(accepted(), !(mode & 0o022) || Boolean(mode & 0o1000), `ancestor ${mode.toString(8)}`);
      fs.chmodSync(path.dirname(leaf), 0o700);
    }
    for (const uid of [0, process.getuid(), NOBODY]) {
      fs.chownSync(leaf, uid, 0);
      assert.equal(accepted(), uid !== NOBODY, `uid ${uid}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/// Runs `fn` with os.tmpdir() pointing at a fresh directory, made like /tmp (1777) unless told.
async function withTmpdir(fn, mode = 0o1777) {
  const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'truss-ci-shared-tmp-'));
  fs.chmodSync(shared, mode);
  const tmpdir = os.tmpdir;
  os.tmpdir = () => shared;
  try {
    return await fn(shared);
  } finally {
    os.tmpdir = tmpdir;
    fs.rmSync(shared, { recursive: true, force: true });
  }
}

test('without RUNNER_TOOL_CACHE: RUNNER_TEMP, else a directory made for the run, never a fixed name in the temp dir', async () => {
  const t = await setup();
  try {
    await withTmpdir(async (shared) => {
      // Where an earlier shim looked: another local user can create it in a shared /tmp.
      plant(path.join(shared, 'truss-ci-cache', 'truss-ci', '0.1.0', TARGET, 'truss-ci'));
      const before = fs.readdirSync(shared, { recursive: true }).sort();
      const env = { ...t.env, RUNNER_TOOL_CACHE: '' };
      assert.equal(await run(env, t.options), 0);
      assert.match(t.log(), /^ARGS login/);
      assert.equal(t.postEnv().STATE_TRUSS_CI_ACTION_BINARY, fs.realpathSync(t.cached(t.env.RUNNER_TEMP)));
      assert.deepEqual(fs.readdirSync(shared, { recursive: true }).sort(), before, 'the temp dir was not touched');

      fs.writeFileSync(t.env.GITHUB_STATE, '');
      const alone = { ...env, RUNNER_TEMP: '' };
      assert.equal(await run(alone, t.options), 0);
      assert.match(t.log(), /^ARGS login/, 'the verified binary ran, not the planted one');
      const binary = t.postEnv().STATE_TRUSS_CI_ACTION_BINARY;
      const own = path.dirname(binary);
      assert.equal(path.dirname(own), fs.realpathSync(shared));
      assert.match(path.basename(own), /^truss-ci-[A-Za-z0-9]{6}$/);
      if (POSIX) assert.equal(fs.statSync(own).mode & 0o777, 0o700);
      assert.equal(await run({ ...alone, ...t.postEnv() }, t.options), 0);
      assert.match(t.log(), /^ARGS logout --post\n/);
      assert.deepEqual(fs.readdirSync(shared, { recursive: true }).sort(), before, 'post removed the directory of the run');
    });
  } finally {
    await t.close();
  }
});

test('a container job as root, whose mounts the runner\'s uid owns, runs from a directory of its own', { skip: !ROOT }, async () => {
  const t = await setup();
  try {
    await withTmpdir(async () => {
      fs.mkdirSync(t.env.RUNNER_TOOL_CACHE);
      fs.chownSync(t.env.RUNNER_TOOL_CACHE, NOBODY, NOBODY);
      fs.chownSync(t.env.RUNNER_TEMP, NOBODY, NOBODY);
      const { code, out } = await quiet(t.env, t.options);
      assert.equal(code, 0);
      assert.match(out, /RUNNER_TOOL_CACHE cannot hold truss-ci safely .*is owned by uid 65534/);
      assert.match(out, /RUNNER_TEMP cannot hold truss-ci safely .*is owned by uid 65534/);
      assert.match(t.log(), /^ARGS login/);
      assert.equal(await run({ ...t.env, ...t.postEnv() }, t.options), 0);
      assert.match(t.log(), /^ARGS logout --post\n/);
    });
  } finally {
    await t.close();
  }
});

test('a temp dir others can write without a sticky bit holds nothing: fail closed', { skip: !ROOT }, async () => {
  const t = await setup();
  try {
    await withTmpdir(async (shared) => {
      const { code, out } = await quiet({ ...t.env, RUNNER_TOOL_CACHE: '', RUNNER_TEMP: '' }, t.options);
      assert.equal(code, 1);
      assert.match(out, /no directory of its own in .* can either \(.*writable by other users.*\): set truss-ci-path/);
      assert.equal(t.log(), '');
      assert.deepEqual(fs.readdirSync(shared), [], 'nothing was left');
    }, 0o777);
  } finally {
    await t.close();
  }
});

test('post refuses a directory that only looks like one the shim made', async () => {
  const t = await setup();
  try {
    await withTmpdir(async (shared) => {
      const alone = { ...t.env, RUNNER_TOOL_CACHE: '', RUNNER_TEMP: '' };
      assert.equal(await run(alone, t.options), 0);
      const post = { ...alone, ...t.postEnv() };
      fs.rmSync(t.env.FAKE_LOG);
      const lookalike = path.join(shared, 'truss-ci-abcdef');
      fs.mkdirSync(lookalike, { mode: 0o755 });
      fs.copyFileSync(post.STATE_TRUSS_CI_ACTION_BINARY, path.join(lookalike, 'truss-ci'));
      const spoilt = [['mode 0755', () => {}]];
      if (ROOT) spoilt.push(['owned by another user', () => {
        fs.chmodSync(lookalike, 0o700);
        fs.chownSync(lookalike, NOBODY, NOBODY);
      }]);
      for (const [name, spoil] of spoilt) {
        spoil();
        const { code, out } = await quiet({ ...post, STATE_TRUSS_CI_ACTION_BINARY: path.join(lookalike, 'truss-ci') }, t.options);
        assert.equal(code, 1, name);
        assert.match(out, /is not where this action keeps truss-ci/, name);
        assert.equal(t.log(), '', name);
      }
    });
  } finally {
    await t.close();
  }
});

test('post re-verifies the binary main ran and refuses anything else', async () => {
  const t = await setup();
  try {
    assert.equal(await run(t.env, t.options), 0);
    const post = t.postEnv();
    fs.rmSync(t.env.FAKE_LOG);
    const refused = async (env, why, pattern) => {
      const { code, out } = await quiet(env, t.options);
      assert.equal(code, 1, why);
      assert.match(out, pattern, why);
      assert.equal(t.log(), '', `${why}: nothing ran`);
    };
    // The same bytes, somewhere the shim does not keep truss-ci.
    const copy = path.join(t.dir, 'copy');
    fs.copyFileSync(t.cached(), copy);
    await refused({ ...post, STATE_TRUSS_CI_ACTION_BINARY: copy }, 'a path outside', /is not where this action keeps truss-ci/);
    await refused({ ...post, STATE_TRUSS_CI_ACTION_SHA256: '' }, 'no saved digest', /saved no SHA-256/);
    await refused({ ...post, STATE_TRUSS_CI_ACTION_SHA256: sha(PLANTED) }, 'another saved digest', /not the manifest's/);
    // The binary main ran, replaced between main and post.
    fs.writeFileSync(t.cached(), PLANTED, { mode: 0o755 });
    await refused(post, 'a tampered binary', /post: refusing to run .*its SHA-256 is/);
    if (ROOT) {
      fs.writeFileSync(t.cached(), FAKE, { mode: 0o755 });
      fs.chownSync(path.dirname(t.cached()), NOBODY, NOBODY);
      await refused(post, 'a directory another user took over', /is not where this action keeps truss-ci/);
      fs.chownSync(path.dirname(t.cached()), 0, 0);
    }
  } finally {
    await t.close();
  }
});

test('post runs the same truss-ci-path bytes main ran, or nothing', async () => {
  const t = await setup();
  try {
    const local = path.join(t.dir, 'local-truss-ci');
    fs.writeFileSync(local, FAKE, { mode: 0o755 });
    const env = { ...t.env, 'INPUT_TRUSS-CI-PATH': local };
    assert.equal(await run(env, t.options), 0);
    const post = { ...env, ...t.postEnv() };
    fs.writeFileSync(local, `${FAKE}// changed\n`);
    fs.rmSync(t.env.FAKE_LOG);
    const { code, out } = await quiet(post, t.options);
    assert.equal(code, 1);
    assert.match(out, /its SHA-256 is/);
    assert.equal(t.log(), '');
    fs.writeFileSync(local, FAKE);
    const other = path.join(t.dir, 'other');
    fs.copyFileSync(local, other);
    assert.equal((await quiet({ ...post, STATE_TRUSS_CI_ACTION_BINARY: other }, t.options)).code, 1);
    assert.equal(await run(post, t.options), 0);
    assert.match(t.log(), /^ARGS logout --post\n/);
  } finally {
    await t.close();
  }
});

// --- No variable changes what is verified or where it comes from ------------------------------

test('TRUSS_CI_MANIFEST_PATH and TRUSS_CI_RELEASE_BASE_URL have no effect', async () => {
  const t = await setup();
  const rogue = await serve(require('node:zlib').brotliCompressSync(PLANTED));
  try {
    // A manifest an earlier step could write, for a version the committed one does not hold.
    const version = '9.9.9-rogue';
    const manifest = path.join(t.dir, 'rogue.json');
    const br = require('node:zlib').brotliCompressSync(PLANTED);
    fs.writeFileSync(manifest, JSON.stringify({
      version, repository: 'x/y',
      sha256: { [version]: { [TARGET]: sha(br) } },
      binary_sha256: { [version]: { [TARGET]: sha(PLANTED) } },
    }));
    const env = { ...t.env, TRUSS_CI_MANIFEST_PATH: manifest, TRUSS_CI_RELEASE_BASE_URL: rogue.url };
    const shipped = await quiet({ ...env, INPUT_VERSION: version });
    assert.equal(shipped.code, 1);
    assert.match(shipped.out, /no SHA-256 for truss-ci 9\.9\.9-rogue/, 'the committed manifest was used');
    // With a manifest passed in, the download still comes from the base passed in.
    assert.equal(await run(env, t.options), 0);
    assert.equal(rogue.hits.length, 0);
    assert.equal(t.hits.length, 1);
    assert.match(t.log(), /^ARGS login/);
  } finally {
    await rogue.close();
    await t.close();
  }
});

test('the shim reads only the runner\'s variables', () => {
  const source = fs.readFileSync(path.join(__dirname, 'main.js'), 'utf8');
  const read = new Set([...source.matchAll(/\benv\.([A-Za-z0-9_]+)/g)].map((m) => m[1]));
  const allowed = new Set([
    'RUNNER_OS', 'RUNNER_ARCH', 'RUNNER_TOOL_CACHE', 'RUNNER_TEMP', 'GITHUB_STATE',
    'STATE_TRUSS_CI_ACTION_POST', 'STATE_TRUSS_CI_ACTION_BINARY', 'STATE_TRUSS_CI_ACTION_SHA256',
    'NO_PROXY', 'no_proxy', 'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy',
  ]);
  assert.deepEqual([...read].filter((name) => !allowed.has(name)), []);
  // Inputs go through input(); no other indexing of the environment.
  assert.deepEqual([...source.matchAll(/\benv\[(?!`INPUT_\$\{)/g)], []);
  assert.doesNotMatch(source, /process\.env\.|process\.env\[/);
});

test('every input becomes its flag; blank inputs are unset; a bad export-env is refused before any download', async () => {
  const t = await setup();
  try {
    const env = {
      ...t.env,
      'INPUT_REMOTE-URL': 'https://app.example',
      'INPUT_API-URL': ' ',
      'INPUT_TRUSSRC-PATH': '/tmp/rc',
      'INPUT_EXPORT-ENV': 'truss-env',
      INPUT_VALIDATE: 'false',
      INPUT_TIMEOUT: '5',
      INPUT_ISOLATE: 'true',
    };
    assert.equal(await run(env, t.options), 0);
    assert.equal(
      t.log().split('\n')[0],
      'ARGS login --remote=ci --remote-url=https://app.example --timeout=5 --trussrc=/tmp/rc --export-env=truss-env --no-validate --isolate --from-env',
    );
    for (const [value, flag] of [['true', '--export-env'], ['key', '--export-env'], ['false', null], ['', null]]) {
      assert.equal(await run({ ...t.env, 'INPUT_EXPORT-ENV': value, INPUT_VALIDATE: 'yes' }, t.options), 0);
      const args = t.log().split('\n')[0].split(' ');
      assert.equal(args.includes('--export-env'), flag !== null, value);
      assert.ok(!args.includes('--no-validate'), value);
    }
    const required = { ...t.env, 'INPUT_REQUIRE-KEY-TYPE': 'workspace-manage-all,workspace-invoke' };
    assert.equal(await run(required, t.options), 0);
    assert.ok(t.log().split('\n')[0].split(' ').includes('--require-key-type=workspace-manage-all,workspace-invoke'));
    assert.equal(await run({ ...t.env, 'INPUT_API-KEY': '' }, t.options), 0);
    assert.equal(t.log().split('\n')[0], 'ARGS login --remote=ci');
    fs.rmSync(t.env.FAKE_LOG);
    const hits = t.hits.length;
    const { code, out } = await quiet({ ...t.env, 'INPUT_EXPORT-ENV': 'maybe' }, t.options);
    assert.equal(code, 2);
    assert.match(out, /^::error title=truss-ci action::the export-env input must be true, false or truss-env, not "maybe"$/m);
    assert.equal(t.hits.length, hits);
    assert.equal(t.log(), '');
  } finally {
    await t.close();
  }
});

// --- The release flow records both digests -----------------------------------------------------

test('update-manifest records each target\'s asset and binary digests, and refuses half a pair', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'truss-ci-manifest-'));
  try {
    const manifest = path.join(dir, 'manifest.json');
    fs.writeFileSync(manifest, JSON.stringify({ version: '0.0.1', repository: 'x/y', sha256: {} }));
    const sums = path.join(dir, 'sums');
    fs.mkdirSync(sums);
    const sum = (name, data) => fs.writeFileSync(path.join(sums, `${name}.sha256`), `${sha(data)}  ${name}\n`);
    sum(`truss-ci-${TARGET}.br`, BR);
    const update = () => spawnSync(process.execPath, [path.join(__dirname, 'update-manifest.js'), '0.2.0', sums, manifest], { encoding: 'utf8' });
    let r = update();
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no SHA-256 of the binary for x86_64-unknown-linux-musl/);
    sum(`truss-ci-${TARGET}`, FAKE);
    sum('truss-ci-x86_64-pc-windows-msvc.exe', 'exe');
    r = update();
    assert.notEqual(r.status, 0, 'a binary with no asset');
    sum('truss-ci-x86_64-pc-windows-msvc.br', 'br');
    r = update();
    assert.equal(r.status, 0, r.stderr);
    const m = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    assert.equal(m.version, '0.2.0');
    assert.deepEqual(m.sha256['0.2.0'], { [TARGET]: sha(BR), 'x86_64-pc-windows-msvc': sha('br') });
    assert.deepEqual(m.binary_sha256['0.2.0'], { [TARGET]: sha(FAKE), 'x86_64-pc-windows-msvc': sha('exe') });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('update-manifest --image-sha256 records the image\'s digest, and pin-image pins the component\'s default image to it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'truss-ci-manifest-'));
  try {
    const manifest = path.join(dir, 'manifest.json');
    fs.writeFileSync(manifest, JSON.stringify({ version: '0.0.1', repository: 'x/y', sha256: {}, binary_sha256: {}, image_sha256: { '0.0.1': 'a'.repeat(64) } }));
    const sums = path.join(dir, 'sums');
    fs.mkdirSync(sums);
    for (const [name, data] of [[`truss-ci-${TARGET}.br`, BR], [`truss-ci-${TARGET}`, FAKE]]) {
      fs.writeFileSync(path.join(sums, `${name}.sha256`), `${sha(data)}  ${name}\n`);
    }
    const update = (...extra) => spawnSync(process.execPath, [path.join(__dirname, 'update-manifest.js'), '0.2.0', sums, manifest, ...extra], { encoding: 'utf8' });
    assert.equal(update('--image-sha256=sha256:abc').status, 1, 'not a bare SHA-256');
    assert.equal(update('--image=x').status, 2);
    const digest = 'b'.repeat(64);
    const r = update(`--image-sha256=${digest}`);
    assert.equal(r.status, 0, r.stderr);
    const m = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    assert.deepEqual(m.image_sha256, { '0.0.1': 'a'.repeat(64), '0.2.0': digest });

    // pin-image (the release's script, run as the release runs it), on a copy of the template.
    const template = fs.readFileSync(path.join(__dirname, '..', 'templates', 'login.yml'), 'utf8');
    const version = template.match(/^      default: ghcr\.io\/baseten\/truss-ci:([^@\s]+)$/m)[1];
    const copy = path.join(dir, 'login.yml');
    fs.writeFileSync(copy, template);
    const cli = (v) => spawnSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'pin-image.js'), v, manifest, copy], { encoding: 'utf8' });
    const refused = (v, why) => {
      const before = fs.readFileSync(copy, 'utf8');
      const r = cli(v);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, why);
      assert.equal(fs.readFileSync(copy, 'utf8'), before, 'a refusal changes nothing');
    };
    refused('9.9.9', /records no image SHA-256/);
    m.image_sha256[version] = digest;
    m.image_sha256['9.9.9'] = digest;
    fs.writeFileSync(manifest, JSON.stringify(m));
    refused('9.9.9', /not the release's 9\.9\.9/);
    const ok = cli(version);
    assert.equal(ok.status, 0, ok.stderr);
    const pinned = fs.readFileSync(copy, 'utf8');
    const changed = pinned.split('\n').filter((l, i) => l !== template.split('\n')[i]);
    assert.deepEqual(changed, [`      default: ghcr.io/baseten/truss-ci:${version}@sha256:${digest}`]);
    assert.equal(cli(version).status, 0);
    assert.equal(fs.readFileSync(copy, 'utf8'), pinned, 'pinning again changes nothing');
    m.image_sha256[version] = 'c'.repeat(64);
    fs.writeFileSync(manifest, JSON.stringify(m));
    refused(version, /pinned to another digest/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the committed manifest has a binary digest for every asset digest', () => {
  const m = JSON.parse(fs.readFileSync(path.join(__dirname, 'manifest.json'), 'utf8'));
  const pairs = (table) => Object.entries(table || {}).flatMap(([v, ts]) => Object.keys(ts).map((t) => `${v} ${t}`)).sort();
  assert.deepEqual(pairs(m.binary_sha256), pairs(m.sha256));
});

// --- Boolean inputs: one parser --------------------------------------------------------------

test('every boolean input reads true/false/yes/no/on/off/1/0 in any case, and refuses anything else before the login', async () => {
  const t = await setup();
  try {
    const yes = ['true', 'TRUE', 'Yes', 'on', 'ON', '1'];
    const no = ['false', 'False', 'NO', 'off', 'Off', '0'];
    const first = () => t.log().split('\n')[0].split(' ');
    for (const value of [...yes, ...no]) {
      const on = yes.includes(value);
      assert.equal(await run({ ...t.env, INPUT_VALIDATE: value, INPUT_ISOLATE: value, INPUT_CLEANUP: value }, t.options), 0, value);
      assert.equal(first().includes('--no-validate'), !on, `validate: ${value}`);
      assert.equal(first().includes('--isolate'), on, `isolate: ${value}`);
      assert.equal(await run({ ...t.env, 'INPUT_EXPORT-ENV': value }, t.options), 0, value);
      assert.equal(first().includes('--export-env'), on, `export-env: ${value}`);
      assert.equal(await run({ ...t.env, 'INPUT_JOB-KEY': value }, t.options), 0, value);
      assert.equal(first().includes('--job-key'), on, `job-key: ${value}`);
    }
    for (const name of ['validate', 'isolate', 'cleanup', 'export-env', 'job-key']) {
      for (const value of ['ture', 'y', 'enabled', '2']) {
        fs.rmSync(t.env.FAKE_LOG, { force: true });
        const hits = t.hits.length;
        const { code, out } = await quiet({ ...t.env, [`INPUT_${name.toUpperCase()}`]: value }, t.options);
        assert.equal(code, 2, `${name}: ${value}`);
        assert.match(out, new RegExp(`^::error title=truss-ci action::the ${name} input must be true`, 'm'), `${name}: ${value}`);
        assert.ok(out.includes(JSON.stringify(value)), out);
        assert.equal(t.log(), '', `${name}: ${value}: nothing ran`);
        assert.equal(t.hits.length, hits, `${name}: ${value}: nothing downloaded`);
      }
    }
  } finally {
    await t.close();
  }
});

test('the post step undoes the login for cleanup on, ON and 1, and skips it only for a no', async () => {
  const t = await setup();
  try {
    assert.equal(await run(t.env, t.options), 0);
    const post = t.postEnv();
    for (const value of ['on', 'ON', '1', 'Yes', 'true', '']) {
      fs.rmSync(t.env.FAKE_LOG, { force: true });
      assert.equal(await run({ ...post, INPUT_CLEANUP: value }, t.options), 0, value);
      assert.match(t.log(), /^ARGS logout --post\n/, `cleanup: ${value}`);
    }
    for (const value of ['off', 'NO', '0', 'false']) {
      fs.rmSync(t.env.FAKE_LOG, { force: true });
      assert.equal(await run({ ...post, INPUT_CLEANUP: value }, t.options), 0, value);
      assert.equal(t.log(), '', `cleanup: ${value}`);
    }
  } finally {
    await t.close();
  }
});
