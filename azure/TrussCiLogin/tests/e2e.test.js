// The task end to end with the real truss-ci ($TRUSS_CI_BIN) against the test suite's fake
// Baseten API (`cargo build --example fake-baseten`: beside the binary, or $TRUSS_CI_FAKE_BASETEN),
// under the task library's mock runner, as an Azure Pipelines job (TF_BUILD, BUILD_BUILDID,
// SYSTEM_JOBID) in a throwaway HOME. Without TRUSS_CI_BIN these tests skip loudly.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { test } = require('node:test');

const { KEY, needsLib, requireLib, job, step, shown } = require('./harness.js');

const BIN = process.env.TRUSS_CI_BIN || '';
let opts = needsLib();
if (!opts.skip && !BIN) {
  const why = 'TRUSS_CI_BIN is unset: no end-to-end test of the task with the real truss-ci (scripts/test-azure-task.sh builds one)';
  process.stderr.write(`SKIPPED: ${why}\n`);
  opts = { skip: why };
}

/// The fake Baseten API, serving KEY until its stdin closes.
async function fakeBaseten() {
  const fake = process.env.TRUSS_CI_FAKE_BASETEN || path.join(path.dirname(BIN), 'examples', 'fake-baseten');
  assert.ok(fs.existsSync(fake), `no fake Baseten API at ${fake}: run cargo build --example fake-baseten, or set TRUSS_CI_FAKE_BASETEN`);
  const child = spawn(fake, [KEY], { stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (chunk) => {
      buf += chunk;
      if (buf.includes('\n')) resolve(buf.split('\n')[0].trim());
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`fake-baseten exited with ${code}`)));
  });
  const stop = () =>
    new Promise((resolve) => {
      child.removeAllListeners('exit');
      child.on('exit', resolve);
      child.stdin.end();
    });
  return { url, stop };
}

async function scenario(fn) {
  requireLib();
  const j = job();
  const api = await fakeBaseten();
  try {
    await fn({ ...j, inputs: { trussCiPath: BIN }, api: api.url, trussrc: path.join(j.env.HOME, '.trussrc') });
  } finally {
    await api.stop();
    j.close();
  }
}

test('end to end: main logs in (masked first, the key exported as a secret variable), post undoes it', opts, () =>
  scenario(async ({ env, inputs: base, api, trussrc }) => {
    const main = await step('main', { env, inputs: { ...base, apiKey: KEY, apiUrl: api, exportEnv: 'true' } });
    assert.ok(main.tr.succeeded, shown(main));
    assert.equal(main.lines[0], `##vso[task.setsecret]${KEY}`);
    assert.ok(main.lines.includes(`##vso[task.setvariable variable=BASETEN_API_KEY;issecret=true]${KEY}`), shown(main));
    const command = main.lines.find((l) => l.startsWith('[command]'));
    assert.equal(command, `[command]${fs.realpathSync(BIN)} login --api-url=${api} --export-env --from-env`);
    const text = fs.readFileSync(trussrc, 'utf8');
    assert.match(text, /^\[baseten\]$/m);
    assert.ok(text.split('\n').includes(`api_key = ${KEY}`));
    assert.equal(fs.statSync(trussrc).mode & 0o777, 0o600);

    const post = await step('post', { env, taskVariables: main.variables, inputs: { ...base, apiKey: KEY, apiUrl: api, exportEnv: 'true' } });
    assert.ok(post.tr.succeeded, shown(post));
    assert.ok(post.lines.includes('##vso[task.setvariable variable=BASETEN_API_KEY]'), `post clears the exported variable: ${shown(post)}`);
    assert.ok(!fs.existsSync(trussrc), 'the trussrc login created is gone');
  }));

test('end to end: a rejected key fails the task with exit 3 and writes nothing', opts, () =>
  scenario(async ({ env, inputs: base, api, trussrc }) => {
    const other = 'azTEST02.rejectedValue5678';
    const main = await step('main', { env, inputs: { ...base, apiKey: other, apiUrl: api } });
    assert.ok(main.tr.failed, shown(main));
    assert.equal(main.lines[0], `##vso[task.setsecret]${other}`);
    assert.match(main.tr.errorIssues.join('\n'), /truss-ci login exited with 3/);
    assert.ok(!fs.existsSync(trussrc));
    const post = await step('post', { env, taskVariables: main.variables, inputs: { ...base, apiKey: other, apiUrl: api } });
    assert.ok(post.tr.succeeded, `nothing recorded, nothing to undo: ${shown(post)}`);
  }));

test('end to end: a job key is minted, stored and handed on instead of the secret, and post revokes it', opts, () =>
  scenario(async ({ env, inputs: base, api, trussrc }) => {
    const inputs = { ...base, apiKey: KEY, apiUrl: api, jobKey: 'true', jobKeyTtl: '30m' };
    const main = await step('main', { env, inputs });
    assert.ok(main.tr.succeeded, shown(main));
    const stored = fs.readFileSync(trussrc, 'utf8').match(/^api_key = (.+)$/m)[1];
    assert.notEqual(stored, KEY, 'the trussrc holds the job key, not the secret');
    assert.ok(main.lines.includes(`##vso[task.setsecret]${stored}`), `the job key is masked: ${shown(main)}`);
    const post = await step('post', { env, taskVariables: main.variables, inputs });
    assert.ok(post.tr.succeeded, shown(post));
    assert.ok(!fs.existsSync(trussrc));
    // Its name says the platform and this job's identity (BUILD_BUILDID, SYSTEM_JOBID).
    assert.match(post.err, new RegExp(`^Revoked job key truss-ci-azure-5-job-1-\\S+ \\(prefix ${stored.split('.')[0]}\\)$`, 'm'), shown(post));
  }));

test('end to end: a restricted job key exported over the key the post-job step revokes it with is refused by truss-ci, and the task fails with its exit 2', opts, () =>
  scenario(async ({ env, inputs: base, api, trussrc }) => {
    const inputs = { ...base, apiKey: KEY, apiUrl: api, jobKey: 'workspace-invoke', modelIds: 'm1', exportEnv: 'true' };
    const main = await step('main', { env, inputs });
    assert.ok(main.tr.failed, shown(main));
    assert.match(main.out, /--job-key=workspace-invoke with --export-env would hand the job key to the post-job step as BASETEN_API_KEY/);
    assert.match(main.tr.errorIssues.join('\n'), /truss-ci login exited with 2: a usage error/);
    assert.ok(!main.lines.some((l) => l.startsWith('##vso[task.setvariable')), `nothing was exported: ${shown(main)}`);
    assert.ok(!fs.existsSync(trussrc), 'nothing was written');
    const post = await step('post', { env, taskVariables: main.variables, inputs });
    assert.ok(post.tr.succeeded, `nothing to undo: ${shown(post)}`);
    assert.doesNotMatch(post.err, /Revoked job key/);
  }));
