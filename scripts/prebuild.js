#!/usr/bin/env node
/**
 * `npm run prebuilds`: puts the addon of build/Release into prebuilds/<platform>-<arch>/, named with the
 * tags node-gyp-build matches (napi, libc) and ours (libtorch major.minor, CXX11 ABI, CPU or CUDA), read
 * from the addon's own buildInfo(). N-API only: one file serves every Node version and Electron.
 * The addon is built first (cmake-js, no tests) when build/Release has none; --rebuild forces that.
 * Not prebuildify: it drives node-gyp, and our build is cmake-js; this script does the placing part.
 * Needs the compiled TypeScript (npm run build:ts) for the naming rules shared with the loader.
 */
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const nativeJs = path.join(root, 'dist', 'native.js');
if (!fs.existsSync(nativeJs)) {
  console.error(`prebuilds: ${nativeJs} is missing: run \`npm run build:ts\` first`);
  process.exit(1);
}
const native = require(nativeJs);
const addonFile = native.localBuildPath(root);

if (process.argv.includes('--rebuild') || !fs.existsSync(addonFile)) {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  const run = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build', '--CDSSN_BUILD_TESTS=OFF'], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}

const addon = native.loadAddonFile(addonFile);
if (typeof addon.buildInfo !== 'function') {
  console.error(`prebuilds: ${addonFile} has no buildInfo(): rebuild it (npm run build:native)`);
  process.exit(1);
}
const info = addon.buildInfo();
const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
// node-gyp-build's libc tag: musl systems (Alpine) report no glibc version.
const libc = process.report.getReport().header.glibcVersionRuntime ? 'glibc' : 'musl';
const target = path.join(dir, native.prebuildFileName(info, libc));
fs.mkdirSync(dir, { recursive: true });
fs.copyFileSync(addonFile, target);
console.log(`prebuilds: ${path.relative(root, target)} (${(fs.statSync(target).size / 1024).toFixed(0)} KiB; libtorch ${info.torch})`);
