// The task under azure-pipelines-task-lib's TaskMockRunner, for the tests: the case (inputs, task
// variables, environment) comes from the JSON file TRUSS_CI_TASK_CASE names. The real task
// library runs (run(true)): its ##vso lines are what the agent would read, and the binary is a
// real process (tests/stub-truss-ci.js, or truss-ci itself).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

/// Printed right before the task starts: what comes before it is the mock runner's own setup (its
/// library prints debug lines as it loads), which the agent never runs.
const START = 'truss-ci-task-test: the task starts';

module.exports = function runStep(script) {
  const spec = JSON.parse(fs.readFileSync(process.env.TRUSS_CI_TASK_CASE, 'utf8'));
  for (const [name, value] of Object.entries(spec.env || {})) {
    if (value === null) delete process.env[name];
    else process.env[name] = value;
  }
  const { TaskMockRunner } = require('azure-pipelines-task-lib/mock-run');
  const tmr = new TaskMockRunner(path.join(__dirname, '..', script));
  for (const [name, value] of Object.entries(spec.inputs || {})) tmr.setInput(name, value);
  for (const [name, value] of Object.entries(spec.taskVariables || {})) tmr.setVariableName(name, value, false);
  process.stdout.write(`${START}\n`);
  tmr.run(true);
};
module.exports.START = START;
