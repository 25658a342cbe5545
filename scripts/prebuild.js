#!/usr/bin/env node
/**
 * `npm run prebuilds`: puts the addon of build/Release into prebuilds/<platform>-<arch>/, named with the
 * tags node-gyp-build matches (napi, libc) and ours (libtorch major.minor, CXX11 ABI, CPU or CUDA), read
 * from the addon's own buildInfo(). N-API only: one file serves every Node version and Electron.
 * The addon is built first (cmake-js, no tests) when build/Release has none; --rebuild forces that.
 * Not prebuildify: its released versions drive node-gyp only (a cmake-js backend is an open pull request,
 * prebuildify#75), and our build is cmake-js; this script does prebuildify's placing and naming part.
 * Needs the compiled TypeScript (npm run build:ts) for the naming rules shared with the loader.
 *
 * `--check` (npm's prepack) places nothing: it fails, saying what to run, unless prebuilds/ holds an addon
 * for this platform, since a package without one installs no working binary.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const nativeJs = path.join(root, 'dist', 'native.js');
if (!fs.existsSync(nativeJs)) {
  console.error(`prebuilds: ${nativeJs} is missing: run \`npm run build:ts\` first`);
  process.exit(1);
}
if (process.argv.includes('--check')) {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  const found = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.node')) : [];
  if (found.length === 0) {
    console.error(
      `prepack: no prebuilt addon in ${path.relative(root, dir)}/: the package would install without a working binary.\n` +
        'Run `npm run build && npm run prebuilds` first (or `npm pack --ignore-scripts` to pack the sources only).',
    );
    process.exit(1);
  }
  console.log(`prepack: ${found.join(', ')}`);
  process.exit(0);
}

const native = require(nativeJs);
const addonFile = native.localBuildPath(root);

if (process.argv.includes('--rebuild') || !fs.existsSync(addonFile)) {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  const run = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build', '--CDSSN_BUILD_TESTS=OFF'], {
    cwd: root,
    stdio: 'inherit',
  });
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
