'use strict';
/**
 * Shared by the bench/quality scripts: where the built package is, and a tiny argument parser.
 */
const fs = require('node:fs');
const path = require('node:path');

/** The package root whose dist/ the scripts use: SSN_PACKAGE_DIR, else the repository this file is in. */
const PACKAGE_ROOT = path.resolve(process.env.SSN_PACKAGE_DIR || path.join(__dirname, '..', '..'));

/** require() of a compiled module of the package, e.g. pkg('data/magnetic_tile'); pkg() is the index. */
function pkg(sub = '') {
  const file = path.join(PACKAGE_ROOT, 'dist', sub);
  try {
    return require(file);
  } catch (e) {
    if (e.code === 'MODULE_NOT_FOUND' && !fs.existsSync(path.join(PACKAGE_ROOT, 'dist'))) {
      throw new Error(
        `${PACKAGE_ROOT}/dist is missing: run \`npx tsc -p tsconfig.json\` there, or set SSN_PACKAGE_DIR ` +
          'to a built checkout (and SSN_NATIVE_BINDING to its addon if this one has no build/).',
      );
    }
    throw e;
  }
}

/** --name value options and --flag booleans. */
function parseArgs(argv, booleans = []) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      out._.push(a);
      continue;
    }
    const name = a.slice(2);
    if (booleans.includes(name)) out[name] = true;
    else {
      if (i + 1 >= argv.length) throw new Error(`--${name} needs a value`);
      out[name] = argv[++i];
    }
  }
  return out;
}

function requireArg(args, name) {
  if (args[name] === undefined) throw new Error(`--${name} is required`);
  return args[name];
}

/** "64" -> [64, 64]; "192x320" -> [192, 320] (height x width). */
function parseSize(text) {
  const m = /^(\d+)(?:x(\d+))?$/.exec(String(text));
  if (!m) throw new Error(`--size: expected N or HxW, got ${text}`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

module.exports = { PACKAGE_ROOT, pkg, parseArgs, requireArg, parseSize };
