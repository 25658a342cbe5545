'use strict';
/**
 * Hostile-input corpora for every file the model reads (issue 13's probes, kept): safetensors model files,
 * torch zip and legacy checkpoints, raw pickles, TF.js manifests and images. Each case is generated from a
 * small recipe at run time (the large files are mutated copies of a valid one, written, used and deleted one at
 * a time), names the stable error code it must give, and runs in a child process (runCases below), so that a
 * crash or a hang is caught and reported as such instead of taking the test runner down.
 *
 *   node test/corpora/corpus.js CASES.json BASE.json   # child mode: one JSON line per case on stdout
 *
 * Needs the built package (dist/) and the addon.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');

// ---- pickles ---------------------------------------------------------------------------------------------

const PROTO2 = Buffer.from([0x80, 0x02]);
const STOP = Buffer.from('.');
const global = (module, name) => Buffer.from(`c${module}\n${name}\n`);
/** A call of module.name on one string argument: the classic code-execution payload. */
const callPayload = (module, name, arg) =>
  Buffer.concat([PROTO2, global(module, name), Buffer.from('('), Buffer.from(`X${u32(arg.length)}${arg}`, 'latin1'), Buffer.from('tR'), STOP]);
function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b.toString('latin1');
}

/** The pickle bodies of the corpus (what data.pkl or a legacy file's object record holds). */
const PICKLES = {
  'global-os-system': callPayload('os', 'system', 'echo pwned > /tmp/ssn-corpus-pwned'),
  'global-builtins-eval': callPayload('builtins', 'eval', '__import__("os").system("true")'),
  'global-subprocess': callPayload('subprocess', 'Popen', 'true'),
  'nesting-deep': Buffer.concat([PROTO2, Buffer.alloc(200000, ']'.charCodeAt(0)), Buffer.alloc(199999, 'a'.charCodeAt(0)), STOP]),
  'memo-dup-flood': Buffer.concat([PROTO2, Buffer.from(']'), Buffer.alloc(3_000_000, '2'.charCodeAt(0)), STOP]),
  'unicode-huge-length': Buffer.concat([PROTO2, Buffer.from('X'), Buffer.from([0xff, 0xff, 0xff, 0x7f]), Buffer.from('abc')]),
  'memo-get-missing': Buffer.concat([PROTO2, Buffer.from('j'), Buffer.from([0x10, 0, 0, 0]), STOP]),
  'no-stop': Buffer.concat([PROTO2, Buffer.from('}')]),
  'empty-dict': Buffer.concat([PROTO2, Buffer.from('}'), STOP]),
  'not-a-pickle': Buffer.from('hello world, this is text'),
};

/** A legacy (non-zip) torch file: magic number, protocol, sys_info, the object record, then no storage keys. */
function legacyFile(body) {
  const magic = Buffer.concat([PROTO2, Buffer.from([0x8a, 0x0a]), Buffer.from('6c fc 9c 46 f9 20 6a a8 50 19'.split(' ').map((h) => parseInt(h, 16))), STOP]);
  const protocol = Buffer.concat([PROTO2, Buffer.from([0x4d, 0xe9, 0x03]), STOP]);
  const sysInfo = Buffer.concat([PROTO2, Buffer.from('}'), STOP]);
  const storageKeys = Buffer.concat([PROTO2, Buffer.from(']'), STOP]);
  return Buffer.concat([magic, protocol, sysInfo, body, storageKeys]);
}

// ---- zip -------------------------------------------------------------------------------------------------

/** A stored (uncompressed) zip of the given members, valid CRCs: a torch zip checkpoint's container. */
function zipOf(members) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, data] of members) {
    const nameBytes = Buffer.from(name);
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** A torch zip checkpoint whose data.pkl is `pickle`. */
const torchZip = (pickle) => zipOf([['archive/data.pkl', pickle], ['archive/version', Buffer.from('3\n')]]);

// ---- safetensors -----------------------------------------------------------------------------------------

function splitSafetensors(bytes) {
  const n = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')), data: bytes.subarray(8 + n) };
}
function joinSafetensors(header, data) {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}
/** The base file with its header edited by `edit(header, data)` (which may also change data in place). */
const editHeader = (edit) => (base) => {
  const { header, data } = splitSafetensors(base);
  const copy = Buffer.from(data);
  edit(header, copy);
  return joinSafetensors(header, copy);
};
const firstTensor = (header, match) => Object.keys(header).find((k) => k !== '__metadata__' && match(k, header[k]));
/** Writes a float32 value into element 0 of the first tensor whose name matches. */
const poke = (match, value) =>
  editHeader((h, data) => {
    const name = firstTensor(h, (k, t) => match(k) && t.dtype === 'F32');
    data.writeFloatLE(value, h[name].data_offsets[0]);
  });

// ---- images ----------------------------------------------------------------------------------------------

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
function pngChunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** A PNG whose header declares width x height (8-bit RGB) over a tiny compressed body: a decoding bomb. */
function pngDeclaring(width, height) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', zlib.deflateSync(Buffer.alloc(64))), pngChunk('IEND', Buffer.alloc(0))]);
}

// ---- the cases -------------------------------------------------------------------------------------------

/**
 * Every case: { name, op, make } where make(base) returns the file's bytes (base: the bytes of the valid file the
 * op starts from, see BASES) or, for TF.js, { 'model.json': ..., shard files... }; and the code it must give.
 * op: 'load' (SuperSimpleNet.load), 'heads' (create with these head weights), 'backbone' (create with this
 * resnet18 backbone), 'tfjs' (create with this Keras TF.js model), 'image' (predict on a tiny model).
 */
function cases() {
  const list = [];
  const add = (family, name, op, code, make) => list.push({ name: `${family}/${name}`, op, code, make });
  // safetensors model files (the base: a valid model saved by the package)
  const CK = 'ERR_SSN_CHECKPOINT';
  for (const [name, cut] of [
    ['empty', () => 0],
    ['4-bytes', () => 4],
    ['length-only', () => 8],
    ['half-header', (b) => 8 + Math.floor(Number(b.readBigUInt64LE(0)) / 2)],
    ['header-only', (b) => 8 + Number(b.readBigUInt64LE(0))],
    ['half', (b) => Math.floor(b.length / 2)],
    ['last-byte-missing', (b) => b.length - 1],
  ]) {
    add('safetensors-truncated', name, 'load', CK, (b) => b.subarray(0, cut(b)));
  }
  const setLength = (n) => (b) => {
    const c = Buffer.from(b);
    c.writeBigUInt64LE(n);
    return c;
  };
  add('safetensors-header-length', 'zero', 'load', CK, setLength(0n));
  add('safetensors-header-length', 'huge', 'load', CK, setLength(2n ** 62n));
  add('safetensors-header-length', 'past-the-end', 'load', CK, (b) => setLength(BigInt(b.length))(b));
  add('safetensors-header-length', 'one-short', 'load', CK, (b) => setLength(b.readBigUInt64LE(0) - 1n)(b));
  add('safetensors-header', 'not-json', 'load', CK, (b) => {
    const c = Buffer.from(b);
    c[8] = 'x'.charCodeAt(0);
    return c;
  });
  add('safetensors-header', 'not-an-object', 'load', CK, (b) => joinSafetensors([1, 2, 3], splitSafetensors(b).data));
  const someTensor = (h) => firstTensor(h, (k) => k.includes('conv'));
  add('safetensors-offsets', 'past-the-end', 'load', CK, editHeader((h, d) => (h[someTensor(h)].data_offsets = [d.length, d.length + 64])));
  add('safetensors-offsets', 'reversed', 'load', CK, editHeader((h) => h[someTensor(h)].data_offsets.reverse()));
  add('safetensors-offsets', 'negative', 'load', CK, editHeader((h) => (h[someTensor(h)].data_offsets = [-4, 0])));
  add('safetensors-dtype', 'f32-relabelled-i32', 'load', CK, editHeader((h) => (h[someTensor(h)].dtype = 'I32')));
  add('safetensors-dtype', 'f64-size-mismatch', 'load', CK, editHeader((h) => (h[someTensor(h)].dtype = 'F64')));
  add('safetensors-dtype', 'unknown', 'load', CK, editHeader((h) => (h[someTensor(h)].dtype = 'Q7')));
  add('safetensors-shape', 'wrong-size', 'load', CK, editHeader((h) => h[someTensor(h)].shape.push(2)));
  add('safetensors-shape', 'huge-dims', 'load', CK, editHeader((h) => (h[someTensor(h)].shape = [2 ** 40, 2 ** 40])));
  add('safetensors-shape', 'negative-dim', 'load', CK, editHeader((h) => (h[someTensor(h)].shape[0] = -1)));
  const editConfig = (edit) =>
    editHeader((h) => {
      const meta = h.__metadata__;
      const key = Object.keys(meta).find((k) => meta[k].startsWith('{'));
      const edited = edit(meta[key]);
      if (edited === meta[key]) throw new Error('corpus: the config edit changed nothing');
      meta[key] = edited;
    });
  add('safetensors-config', 'not-json', 'load', CK, editConfig((s) => s.slice(0, -5)));
  add('safetensors-config', 'image-size-zero', 'load', 'ERR_SSN_CONFIG', editConfig((s) => s.replace(/"height":\s*\d+/, '"height":0')));
  add('safetensors-config', 'image-size-huge', 'load', 'ERR_SSN_CONFIG', editConfig((s) => s.replace(/"width":\s*\d+/, '"width":99999999')));
  add('safetensors-config', 'unknown-arch', 'load', 'ERR_SSN_CONFIG', editConfig((s) => s.replace(/"arch":\s*"[^"]*"/, '"arch":"resnet9000"')));
  add('safetensors-config', 'unknown-variant', 'load', 'ERR_SSN_CONFIG', editConfig((s) => s.replace(/"variant":\s*"[^"]*"/, '"variant":"v3"')));
  add('safetensors-config', 'missing', 'load', CK, editHeader((h) => (h.__metadata__ = {})));
  add('safetensors-values', 'nan-weight', 'load', CK, poke((k) => k.includes('conv'), Number.NaN));
  add('safetensors-values', 'inf-weight', 'load', CK, poke((k) => k.includes('conv'), Number.POSITIVE_INFINITY));
  add('safetensors-values', 'negative-variance', 'load', CK, poke((k) => k.endsWith('running_var'), -1));
  add('safetensors-values', 'missing-tensor', 'load', CK, editHeader((h) => delete h[someTensor(h)]));

  // torch checkpoints as head weights: zip (the base: the golden weights.pt), legacy, and crafted pickles
  add('torch-zip', 'truncated-half', 'heads', CK, (b) => b.subarray(0, Math.floor(b.length / 2)));
  add('torch-zip', 'no-central-directory', 'heads', CK, (b) => b.subarray(0, b.length - 22));
  add('torch-zip', 'flipped-storage-byte', 'heads', CK, (b) => {
    const c = Buffer.from(b);
    c[Math.floor(c.length / 2)] ^= 0x40; // inside a storage member: its CRC-32 no longer matches
    return c;
  });
  add('torch-zip', 'empty-zip', 'heads', CK, () => zipOf([]));
  for (const [name, pickle] of Object.entries(PICKLES)) {
    add('pickle-in-zip', name, 'heads', CK, () => torchZip(pickle));
    add('pickle-legacy', name, 'heads', CK, () => legacyFile(pickle));
  }
  add('torch-legacy', 'truncated', 'backbone', CK, (b) => b.subarray(0, Math.floor(b.length / 3)));
  add('torch-legacy', 'bad-magic-number', 'backbone', CK, (b) => {
    const c = Buffer.from(b);
    c[6] ^= 0xff; // inside the pickled magic number that opens every legacy file
    return c;
  });

  // TF.js layers models (manifests; no valid base needed: each is refused before any weight is used)
  const manifest = (paths, weights) => JSON.stringify({ format: 'layers-model', weightsManifest: [{ paths, weights }] });
  const w = (name, shape, dtype = 'float32') => ({ name, shape, dtype });
  const shard = Buffer.alloc(64);
  add('tfjs', 'not-json', 'tfjs', CK, () => ({ 'model.json': '{"weightsManifest": [' }));
  add('tfjs', 'no-manifest', 'tfjs', CK, () => ({ 'model.json': '{"format":"layers-model"}' }));
  add('tfjs', 'absolute-shard', 'tfjs', CK, () => ({ 'model.json': manifest(['/etc/passwd'], [w('conv1/kernel', [4])]) }));
  add('tfjs', 'parent-shard', 'tfjs', CK, () => ({ 'model.json': manifest(['../../../../etc/passwd'], [w('conv1/kernel', [4])]) }));
  add('tfjs', 'symlink-shard', 'tfjs', CK, () => ({ 'model.json': manifest(['link.bin'], [w('conv1/kernel', [4])]), 'link.bin': { symlink: '/etc/passwd' } }));
  add('tfjs', 'missing-shard', 'tfjs', CK, () => ({ 'model.json': manifest(['gone.bin'], [w('conv1/kernel', [4])]) }));
  add('tfjs', 'short-shard', 'tfjs', CK, () => ({ 'model.json': manifest(['s.bin'], [w('conv1/kernel', [1024])]), 's.bin': shard }));
  add('tfjs', 'unknown-dtype', 'tfjs', CK, () => ({ 'model.json': manifest(['s.bin'], [w('conv1/kernel', [4], 'complex64')]), 's.bin': shard }));
  add('tfjs', 'negative-dim', 'tfjs', CK, () => ({ 'model.json': manifest(['s.bin'], [w('conv1/kernel', [-4])]), 's.bin': shard }));
  add('tfjs', 'huge-dims', 'tfjs', CK, () => ({ 'model.json': manifest(['s.bin'], [w('conv1/kernel', [2 ** 31, 2 ** 31])]), 's.bin': shard }));

  // images given to predict
  const IN = 'ERR_SSN_INPUT';
  add('image', 'empty', 'image', IN, () => Buffer.alloc(0));
  add('image', 'one-byte', 'image', IN, () => Buffer.from([0x89]));
  add('image', 'text', 'image', IN, () => Buffer.from('not an image at all'));
  add('image', 'png-signature-only', 'image', IN, () => PNG_SIGNATURE);
  add('image', 'png-truncated', 'image', IN, () => pngDeclaring(64, 64).subarray(0, 40));
  add('image', 'png-bomb-header', 'image', IN, () => pngDeclaring(60000, 60000));
  add('image', 'png-100-megapixels', 'image', IN, () => pngDeclaring(10000, 10000));
  add('image', 'png-zero-size', 'image', IN, () => pngDeclaring(0, 0));
  add('image', 'svg', 'image', IN, () => Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><image href="secret.png"/></svg>'));
  add('image', 'gif', 'image', IN, () => Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64'));
  add('image', 'jpeg-truncated', 'image', IN, () => Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46]));
  return list;
}

// ---- child mode: run the cases, one JSON line each -------------------------------------------------------

async function runOne(c, bases, dir, pkg) {
  const { SuperSimpleNet } = pkg;
  const quiet = { device: 'cpu', logger: () => undefined };
  const made = c.make(c.op === 'load' ? bases.modelBytes : c.op === 'heads' ? bases.headsBytes : c.op === 'backbone' ? bases.legacyBytes : undefined);
  const caseDir = fs.mkdtempSync(path.join(dir, 'case-'));
  let file = path.join(caseDir, c.op === 'load' ? 'model.safetensors' : c.op === 'tfjs' ? 'model.json' : 'input.bin');
  if (Buffer.isBuffer(made)) {
    fs.writeFileSync(file, made);
  } else {
    for (const [name, content] of Object.entries(made)) {
      if (content && content.symlink) fs.symlinkSync(content.symlink, path.join(caseDir, name));
      else fs.writeFileSync(path.join(caseDir, name), content);
    }
    file = path.join(caseDir, 'model.json');
  }
  try {
    let model;
    if (c.op === 'load') model = await SuperSimpleNet.load(file, quiet);
    else if (c.op === 'heads')
      model = await SuperSimpleNet.create({ ...quiet, backbone: { arch: 'resnet18', weights: bases.backbone }, heads: { weights: file }, imageSize: 64 });
    else if (c.op === 'backbone') model = await SuperSimpleNet.create({ ...quiet, backbone: { arch: 'resnet18', weights: file }, imageSize: 64 });
    else if (c.op === 'tfjs') model = await SuperSimpleNet.create({ ...quiet, backbone: { arch: 'resnet50-keras', weights: file }, imageSize: 64 });
    else {
      model = bases.tiny;
      await model.predict(file);
      return { code: 'OK' };
    }
    await model.predict({ data: new Uint8Array(64 * 64 * 3), width: 64, height: 64, channels: 3 });
    model.dispose();
    return { code: 'OK' };
  } catch (e) {
    return { code: String(e.code ?? 'NO_CODE'), message: String(e.message ?? e), hint: e.hint };
  } finally {
    fs.rmSync(caseDir, { recursive: true, force: true });
  }
}

async function child(casesFile, basesFile) {
  const { names } = JSON.parse(fs.readFileSync(casesFile, 'utf8'));
  const bases = JSON.parse(fs.readFileSync(basesFile, 'utf8'));
  const pkg = require(path.join(__dirname, '..', '..', 'dist'));
  const byName = new Map(cases().map((c) => [c.name, c]));
  bases.modelBytes = fs.readFileSync(bases.model);
  bases.headsBytes = fs.readFileSync(bases.heads);
  bases.legacyBytes = fs.readFileSync(bases.legacyBackbone);
  bases.tiny = await pkg.SuperSimpleNet.load(bases.model, { device: 'cpu', logger: () => undefined });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssn-corpus-'));
  try {
    for (const name of names) {
      process.stdout.write(`${JSON.stringify({ start: name })}\n`);
      const result = await runOne(byName.get(name), bases, dir, pkg);
      process.stdout.write(`${JSON.stringify({ name, ...result, rssMB: Math.round(process.memoryUsage.rss() / 2 ** 20) })}\n`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { cases };

if (require.main === module) {
  child(process.argv[2], process.argv[3]).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
