// The task's main and post-job steps under azure-pipelines-task-lib's mock runner, with a stub
// truss-ci that records its argv and env and prints what the real one prints on Azure.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const { KEY, needsLib, requireLib, job, step, shown } = require('./harness.js');

const opts = needsLib();

/// What the key may appear in on stdout: the mask command, and the secret variable truss-ci sets.
function assertKeyOnlyMasked(out) {
  for (const line of out.split(/\r?\n/)) {
    if (!line.includes(KEY)) continue;
    assert.ok(
      line === `##vso[task.setsecret]${KEY}` || line === `##vso[task.setvariable variable=BASETEN_API_KEY;issecret=true]${KEY}`,
      `the key reached stdout outside a mask or secret-variable command: ${line}`,
    );
  }
}

test('every input becomes its --flag=value; a value starting with - stays a value; the key only in env', opts, async () => {
  requireLib();
  const j = job();
  try {
    const r = await step('main', {
      env: j.env,
      inputs: {
        ...j.inputs,
        apiKey: KEY,
        remote: '-x',
        remoteUrl: 'https://app.staging.baseten.co',
        apiUrl: 'https://api.staging.baseten.co',
        timeout: '45',
        requireKeyType: 'workspace-manage-all,workspace-invoke',
        exportEnv: 'false',
        validate: 'false',
        jobKey: 'workspace-invoke',
        modelIds: 'm1, m2\nm3',
        team: '--help',
        jobKeyTtl: '30m',
        cleanup: 'true',
        version: '0.1.0',
      },
    });
    assert.ok(r.tr.succeeded, shown(r));
    const runs = j.runs();
    assert.equal(runs.length, 1);
    assert.deepEqual(runs[0].args, [
      'login',
      '--remote=-x',
      '--remote-url=https://app.staging.baseten.co',
      '--api-url=https://api.staging.baseten.co',
      '--timeout=45',
      '--require-key-type=workspace-manage-all,workspace-invoke',
      '--no-validate',
      '--job-key=workspace-invoke',
      '--model-id=m1',
      '--model-id=m2',
      '--model-id=m3',
      '--team=--help',
      '--job-key-ttl=30m',
      '--from-env',
    ]);
    // The key reached truss-ci as BASETEN_API_KEY and nothing else: no INPUT_* at all.
    assert.deepEqual(runs[0].env, { BASETEN_API_KEY: KEY });
    assert.ok(!runs[0].args.some((a) => a.includes(KEY)), 'the key is not on argv');
    assert.ok(r.tr.ran(`${fs.realpathSync(j.stub)} ${runs[0].args.join(' ')}`), 'the [command] line is the argv, without the key');
  } finally {
    j.close();
  }
});

test('the fewest inputs: login --from-env; truss-env and a job key of the default type', opts, async () => {
  requireLib();
  const j = job();
  try {
    let r = await step('main', { env: j.env, inputs: { ...j.inputs, apiKey: KEY } });
    assert.ok(r.tr.succeeded, shown(r));
    assert.deepEqual(j.runs()[0].args, ['login', '--from-env']);
    // Blank inputs (as the agent passes unset ones) add no flag; false pick lists neither.
    r = await step('main', { env: j.env, inputs: { ...j.inputs, apiKey: KEY, remote: ' ', exportEnv: 'false', jobKey: 'false', validate: 'TRUE', modelIds: 'ignored' } });
    assert.ok(r.tr.succeeded, shown(r));
    assert.deepEqual(j.runs()[1].args, ['login', '--from-env']);
    r = await step('main', { env: j.env, inputs: { ...j.inputs, apiKey: KEY, exportEnv: 'truss-env', jobKey: 'true' } });
    assert.ok(r.tr.succeeded, shown(r));
    assert.deepEqual(j.runs()[2].args, ['login', '--export-env=truss-env', '--job-key', '--from-env']);
  } finally {
    j.close();
  }
});

test('##vso[task.setsecret] is the first line, even with system.debug; the key is elsewhere only in the secret variable', opts, async () => {
  requireLib();
  const j = job();
  try {
    const r = await step('main', { env: { ...j.env, SYSTEM_DEBUG: 'true' }, inputs: { ...j.inputs, apiKey: KEY, exportEnv: 'true' } });
    assert.ok(r.tr.succeeded, shown(r));
    assert.equal(r.lines[0], `##vso[task.setsecret]${KEY}`);
    assert.ok(r.lines.some((l) => l.startsWith('##vso[task.debug]')), 'debug lines are printed (after the mask)');
    assert.ok(r.lines.includes(`##vso[task.setvariable variable=BASETEN_API_KEY;issecret=true]${KEY}`), shown(r));
    assertKeyOnlyMasked(r.out);
    assert.ok(!r.err.includes(KEY), 'the key is not on stderr');
  } finally {
    j.close();
  }
});

test('truss-ci exiting with 3 fails the task with what 3 means', opts, async () => {
  requireLib();
  const j = job();
  try {
    const r = await step('main', { env: { ...j.env, STUB_EXIT: '3' }, inputs: { ...j.inputs, apiKey: KEY } });
    assert.ok(r.tr.failed, shown(r));
    assert.equal(r.tr.errorIssues.length, 1);
    assert.match(r.tr.errorIssues[0], /^truss-ci login exited with 3: the Baseten API rejected the key/);
    assert.equal(j.runs().length, 1);
  } finally {
    j.close();
  }
});

test('a bad boolean or pick list fails the task before truss-ci runs', opts, async () => {
  requireLib();
  const j = job();
  try {
    for (const [name, value, message] of [
      ['validate', 'ture', /the validate input must be true or false/],
      ['cleanup', 'nope', /the cleanup input must be true or false/],
      ['exportEnv', 'maybe', /the exportEnv input must be true, false or truss-env/],
      ['jobKey', 'routes', /the jobKey input must be/],
    ]) {
      const r = await step('main', { env: j.env, inputs: { ...j.inputs, apiKey: KEY, [name]: value } });
      assert.ok(r.tr.failed, `${name}=${value}: ${shown(r)}`);
      assert.match(r.tr.errorIssues.join('\n'), message);
      assert.equal(r.lines[0], `##vso[task.setsecret]${KEY}`);
      assert.deepEqual(Object.keys(r.variables), [], 'nothing is left for post');
    }
    assert.equal(j.runs().length, 0, 'truss-ci never ran');
  } finally {
    j.close();
  }
});

test('an empty key, or a $(VAR) the agent left unexpanded, fails before truss-ci runs', opts, async () => {
  requireLib();
  const j = job();
  try {
    let r = await step('main', { env: j.env, inputs: { ...j.inputs, apiKey: '' } });
    assert.ok(r.tr.failed, shown(r));
    assert.match(r.tr.errorIssues.join('\n'), /apiKey input is empty/);
    r = await step('main', { env: j.env, inputs: { ...j.inputs, apiKey: '$(BASETEN_API_KEY)' } });
    assert.ok(r.tr.failed, shown(r));
    assert.match(r.tr.errorIssues.join('\n'), /unexpanded \$\(BASETEN_API_KEY\)/);
    assert.equal(j.runs().length, 0);
  } finally {
    j.close();
  }
});

test('trussCiPath names the binary; without it a truss-ci on PATH is never run, and no manifest is a clear failure', opts, async () => {
  requireLib();
  const j = job();
  try {
    let r = await step('main', { env: j.env, inputs: { ...j.inputs, apiKey: KEY } });
    assert.ok(r.tr.succeeded, shown(r));
    assert.deepEqual(j.runs()[0].args, ['login', '--from-env']);
    assert.equal(r.variables.TRUSS_CI_TASK_BINARY, fs.realpathSync(j.stub));
    // As the action: the download (here, with no manifest beside the task, none), never PATH.
    const env = { ...j.env, PATH: `${path.dirname(j.stub)}${path.delimiter}${j.env.PATH}` };
    r = await step('main', { env, inputs: { apiKey: KEY } });
    assert.ok(r.tr.failed, shown(r));
    assert.match(r.tr.errorIssues.join('\n'), /the task has no manifest\.json to verify a download with .*set the trussCiPath input/);
    assert.deepEqual(Object.keys(r.variables), [], 'nothing is left for post');
    r = await step('main', { env: j.env, inputs: { apiKey: KEY, trussCiPath: path.join(j.dir, 'nowhere') } });
    assert.ok(r.tr.failed, shown(r));
    assert.match(r.tr.errorIssues.join('\n'), /trussCiPath .*nowhere does not exist/);
    assert.equal(j.runs().length, 1, 'the truss-ci on PATH never ran');
  } finally {
    j.close();
  }
});

test('post runs logout --post with the binary main ran, and maps its exit code', opts, async () => {
  requireLib();
  const j = job();
  try {
    const main = await step('main', { env: j.env, inputs: { ...j.inputs, apiKey: KEY } });
    assert.ok(main.tr.succeeded, shown(main));
    const taskVariables = main.variables;
    assert.deepEqual(Object.keys(taskVariables).sort(), ['TRUSS_CI_TASK_BINARY', 'TRUSS_CI_TASK_SHA256']);
    // The agent hands the post step the task's inputs and its task variables, not the main step's env.
    // The binary is the one main recorded, whatever the inputs say now.
    let r = await step('post', { env: j.env, taskVariables, inputs: { apiKey: KEY } });
    assert.ok(r.tr.succeeded, shown(r));
    assert.equal(r.lines[0], `##vso[task.setsecret]${KEY}`);
    let run = j.runs()[1];
    assert.deepEqual(run.args, ['logout', '--post']);
    assert.deepEqual(run.env, {}, 'without a job key, post hands truss-ci no key');
    assertKeyOnlyMasked(r.out);

    r = await step('post', { env: { ...j.env, STUB_EXIT_POST: '4' }, taskVariables, inputs: { ...j.inputs, apiKey: KEY } });
    assert.ok(r.tr.failed, shown(r));
    assert.match(r.tr.errorIssues.join('\n'), /^truss-ci logout --post exited with 4: the Baseten API was unreachable/);

    // With a job key: the API, the timeout and the key (env only) to revoke it with.
    r = await step('post', { env: j.env, taskVariables, inputs: { ...j.inputs, apiKey: KEY, jobKey: 'true', apiUrl: '-api', timeout: '9', remote: 'ignored' } });
    assert.ok(r.tr.succeeded, shown(r));
    run = j.runs()[3];
    assert.deepEqual(run.args, ['logout', '--post', '--api-url=-api', '--timeout=9', '--from-env']);
    assert.deepEqual(run.env, { BASETEN_API_KEY: KEY });
    assertKeyOnlyMasked(r.out);
  } finally {
    j.close();
  }
});

test('post: cleanup false, or no binary from main, runs nothing; a changed binary is refused', opts, async () => {
  requireLib();
  const j = job();
  try {
    const main = await step('main', { env: j.env, inputs: { ...j.inputs, apiKey: KEY } });
    assert.ok(main.tr.succeeded, shown(main));
    let r = await step('post', { env: j.env, taskVariables: main.variables, inputs: { ...j.inputs, apiKey: KEY, cleanup: 'false' } });
    assert.ok(r.tr.succeeded, shown(r));
    // main was skipped by its condition, or failed before it had a binary: the agent still runs post.
    r = await step('post', { env: j.env, inputs: { ...j.inputs, apiKey: KEY } });
    assert.ok(r.tr.succeeded, shown(r));
    assert.match(r.out, /nothing to undo/);
    assert.equal(j.runs().length, 1, 'only main ran truss-ci');

    fs.appendFileSync(j.stub, '\n// changed\n');
    r = await step('post', { env: j.env, taskVariables: main.variables, inputs: { ...j.inputs, apiKey: KEY } });
    assert.ok(r.tr.failed, shown(r));
    assert.match(r.tr.errorIssues.join('\n'), /refusing to run .*its SHA-256 is/);
    assert.equal(j.runs().length, 1, 'the changed binary never ran');
  } finally {
    j.close();
  }
});
