// The shim on every runner OS: the target each runner gets, the binary's name, and where it is
// kept, from Windows-, macOS- and Linux-shaped runner environments, with each OS's own path rules.
'use strict';

const assert = require('node:assert/strict');
const path = require('node:path');
const { test } = require('node:test');

const { target, assetName, binaryName, binaryPath, TARGETS } = require('./main.js');

const RUNNERS = [
  // RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE, RUNNER_TEMP as each hosted image sets them.
  ['Windows', 'X64', 'C:\\hostedtoolcache\\windows', 'D:\\a\\_temp', 'x86_64-pc-windows-msvc', path.win32],
  ['macOS', 'ARM64', '/Users/runner/hostedtoolcache', '/Users/runner/work/_temp', 'aarch64-apple-darwin', path.posix],
  ['macOS', 'X64', '/Users/runner/hostedtoolcache', '/Users/runner/work/_temp', 'x86_64-apple-darwin', path.posix],
  ['Linux', 'X64', '/opt/hostedtoolcache', '/home/runner/work/_temp', 'x86_64-unknown-linux-musl', path.posix],
  ['Linux', 'ARM64', '/opt/hostedtoolcache', '/home/runner/work/_temp', 'aarch64-unknown-linux-musl', path.posix],
];

test('each runner OS and architecture gets its target, binary name and tool-cache layout', () => {
  for (const [os, arch, cache, temp, want, pathmod] of RUNNERS) {
    const env = { RUNNER_OS: os, RUNNER_ARCH: arch, RUNNER_TOOL_CACHE: cache, RUNNER_TEMP: temp };
    const t = target(env);
    assert.equal(t, want, `${os}/${arch}`);
    assert.equal(assetName(t), `truss-ci-${want}.br`);
    const exe = os === 'Windows' ? 'truss-ci.exe' : 'truss-ci';
    assert.equal(binaryName(t), exe);
    assert.equal(binaryPath(cache, '0.1.0', t, pathmod), pathmod.join(cache, 'truss-ci', '0.1.0', want, exe));
    assert.equal(binaryPath(temp, '0.1.0', t, pathmod), pathmod.join(temp, 'truss-ci', '0.1.0', want, exe));
  }
  assert.equal(Object.keys(TARGETS).length, RUNNERS.length, 'every target the release builds is covered');
});

test('Windows paths: drive letters, backslashes, forward slashes, spaces and UNC shares', () => {
  const t = target({ RUNNER_OS: 'Windows', RUNNER_ARCH: 'X64' });
  const cases = [
    ['C:\\hostedtoolcache\\windows', 'C:\\hostedtoolcache\\windows\\truss-ci\\0.1.0\\x86_64-pc-windows-msvc\\truss-ci.exe'],
    ['D:/a/_temp/', 'D:\\a\\_temp\\truss-ci\\0.1.0\\x86_64-pc-windows-msvc\\truss-ci.exe'],
    ['C:\\Program Files\\tool cache', 'C:\\Program Files\\tool cache\\truss-ci\\0.1.0\\x86_64-pc-windows-msvc\\truss-ci.exe'],
    ['\\\\build-share\\cache', '\\\\build-share\\cache\\truss-ci\\0.1.0\\x86_64-pc-windows-msvc\\truss-ci.exe'],
  ];
  for (const [root, want] of cases) assert.equal(binaryPath(root, '0.1.0', t, path.win32), want, root);
  // A drive-relative or relative root would resolve against whatever the current directory is.
  for (const root of ['C:cache', 'cache\\x', '.\\t']) {
    assert.throws(() => binaryPath(root, '0.1.0', t, path.win32), /not an absolute path/, root);
  }
  assert.throws(() => binaryPath('relative/dir', '0.1.0', 'x86_64-apple-darwin', path.posix), /not an absolute path/);
});

test('a runner with no release build is told to bring its own binary', () => {
  for (const [os, arch] of [['Windows', 'ARM64'], ['Linux', 'ARM'], ['FreeBSD', 'X64'], [undefined, undefined]]) {
    assert.throws(() => target({ RUNNER_OS: os, RUNNER_ARCH: arch }), /set truss-ci-path/, `${os}/${arch}`);
  }
});
