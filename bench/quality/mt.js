#!/usr/bin/env node
'use strict';
/**
 * The Magnetic Tile quality table: our package (fp32 and bf16 training, fp32 and bf16 inference) against the
 * official code, both regimes, several seeds, the same wall-clock budget; the feature-noise sweep; and the 2025
 * extension's four supervision regimes (our jims model).
 *
 *   node bench/quality/mt.js size  --work DIR [--minutes 30] [--size 128]   # quiet machine: epochs per configuration
 *   node bench/quality/mt.js train --work DIR [--seeds 0,1,2] [--only NAME,...]  # runs at those epochs; resumable
 *   node bench/quality/mt.js sweep --work DIR [--sigmas 0.015,0.03,0.06,0.12] [--seeds 0] [--minutes 10]
 *   node bench/quality/mt.js regimes --work DIR [--seeds 0] [--only weak,mixed,...]  # the four supervision regimes
 *   node bench/quality/mt.js table --work DIR                                # markdown tables of what finished
 *
 * `size` runs every configuration's own warm-up (ours: train()'s maxMinutes warm-up, stopped at its first step;
 * official: official_driver.py --measure-only) and records the epochs E the budget gives in DIR/sizes.json. The
 * runs then train with --epochs E (milestones round(0.8E), round(0.9E) on both sides), so the machine's load
 * during the long runs changes their wall time, never their schedule. Each run is a folder under DIR/runs
 * with result.json and scores.json (score.js: the same metric code for both sides); finished runs are skipped.
 *
 * Needs: the official code extracted (OFFICIAL, default /tmp/official), Debian's python3-torch
 * (/usr/bin/python3), the default backbone (`npx ssn weights fetch`), the data (MT, default
 * ../shared/data/magnetic-tile).
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { parseArgs } = require('./common');

const HERE = __dirname;
const REPO = path.join(HERE, '..', '..');
const PYTHON = process.env.PYTHON || '/usr/bin/python3';
const OFFICIAL = process.env.OFFICIAL || '/tmp/official';
const MT = process.env.MT || path.join(REPO, '..', 'shared', 'data', 'magnetic-tile');
const REGIMES = ['unsup', 'sup'];

/** What is trained: our package in each precision, and the official code (fp32, as it ships). */
const CONFIGS = [
  { name: 'ours-fp32', impl: 'ours', precision: 'fp32' },
  { name: 'ours-bf16', impl: 'ours', precision: 'bf16' },
  { name: 'official', impl: 'official' },
];

function run(cmd, args, logFile) {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = fs.openSync(logFile, 'a');
  try {
    execFileSync(cmd, args, { stdio: ['ignore', fd, fd], cwd: REPO });
  } finally {
    fs.closeSync(fd);
  }
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function splitDir(work, regime, size) {
  return path.join(work, `mt-${regime}-${size}`);
}

function prepare(work, size) {
  for (const regime of REGIMES) {
    const dir = splitDir(work, regime, size);
    if (fs.existsSync(path.join(dir, 'split.json'))) continue;
    const extra = regime === 'sup' ? ['--supervised'] : [];
    run(
      'node',
      [path.join(HERE, 'export-split.js'), '--root', MT, '--size', String(size), ...extra, '--out', dir],
      path.join(work, 'logs', 'export.log'),
    );
  }
  const backbone = path.join(work, `backbone-${size}.safetensors`);
  if (!fs.existsSync(backbone)) {
    run(
      'node',
      [path.join(HERE, 'make-model.js'), '--data', splitDir(work, 'unsup', size), '--out', backbone],
      path.join(work, 'logs', 'export.log'),
    );
  }
  return backbone;
}

/** Trains (or, with `measure`, sizes) one configuration on one regime into `out`. */
function trainOne(work, size, config, regime, out, { epochs, minutes, seed, noiseStd, measure, extraArgs = [] }) {
  const data = splitDir(work, regime, size);
  const budget = measure ? ['--max-minutes', String(minutes), '--measure-only'] : ['--epochs', String(epochs)];
  const log = path.join(out, 'log.txt');
  if (config.impl === 'ours') {
    const extra = [...(noiseStd === undefined ? [] : ['--noise-std', String(noiseStd)]), ...extraArgs];
    const seedArgs = seed === undefined ? [] : ['--seed', String(seed)];
    run(
      'node',
      [
        path.join(HERE, 'ours.js'),
        '--data',
        data,
        '--out',
        out,
        '--precision',
        config.precision,
        '--threads',
        '2',
        ...budget,
        ...seedArgs,
        ...extra,
      ],
      log,
    );
  } else {
    const seedArgs = seed === undefined ? [] : ['--seed', String(seed)];
    run(
      PYTHON,
      [
        path.join(HERE, 'official_driver.py'),
        '--official',
        OFFICIAL,
        '--data',
        data,
        '--backbone-from',
        path.join(work, `backbone-${size}.safetensors`),
        '--threads',
        '2',
        '--out',
        out,
        ...budget,
        ...seedArgs,
      ],
      log,
    );
  }
  if (!measure) {
    run('node', [path.join(HERE, 'score.js'), '--data', data, '--pred', out, '--out', path.join(out, 'scores.json')], log);
  }
  return readJson(path.join(out, 'result.json'));
}

function loadavg() {
  return os.loadavg().map((x) => +x.toFixed(2));
}

function size(work, args) {
  const minutes = Number(args.minutes ?? 30);
  const imageSize = Number(args.size ?? 128);
  prepare(work, imageSize);
  const sizes = { minutes, size: imageSize, cpu: cpuModel(), measuredAt: new Date().toISOString(), configs: {} };
  for (const config of CONFIGS) {
    for (const regime of REGIMES) {
      const key = `${config.name}/${regime}`;
      const before = loadavg();
      const out = path.join(work, 'measure', config.name, regime);
      fs.rmSync(out, { recursive: true, force: true });
      const r = trainOne(work, imageSize, config, regime, out, { minutes, measure: true });
      sizes.configs[key] = { epochs: r.epochs, loadBefore: before, loadAfter: loadavg(), warmup: r.warmup ?? r.measured };
      console.log(`${key}: ${r.epochs} epochs in ${minutes} min (load ${before[0]} -> ${loadavg()[0]})`);
    }
  }
  fs.writeFileSync(path.join(work, 'sizes.json'), `${JSON.stringify(sizes, null, 1)}\n`);
}

function cpuModel() {
  const text = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const flags = new Set((/flags\s*:\s*(.*)/.exec(text)?.[1] ?? '').split(/\s+/));
  return (
    `${/model name\s*:\s*(.*)/.exec(text)?.[1] ?? 'unknown'} (${os.cpus().length} cores; AMX-BF16 ${flags.has('amx_bf16') ? 'yes' : 'no'}, ` +
    `AVX512-BF16 ${flags.has('avx512_bf16') ? 'yes' : 'no'})`
  );
}

/** The runs of the table: every configuration and regime per seed, and bf16 trained for fp32's epochs. */
function plan(sizes, seeds, only) {
  const runs = [];
  for (const seed of seeds) {
    for (const regime of REGIMES) {
      for (const config of CONFIGS) {
        runs.push({
          name: `${config.name}/${regime}/seed${seed}`,
          config,
          regime,
          seed,
          epochs: sizes.configs[`${config.name}/${regime}`].epochs,
        });
      }
      // bf16 within a point of fp32 at the same epochs? (The bf16 runs themselves when the budget gave both alike.)
      if (!sameEpochs(sizes, regime)) {
        runs.push({
          name: `ours-bf16-at-fp32-epochs/${regime}/seed${seed}`,
          config: CONFIGS[1],
          regime,
          seed,
          epochs: sizes.configs[`ours-fp32/${regime}`].epochs,
        });
      }
    }
  }
  return runs.filter((r) => !only || only.some((o) => r.name.startsWith(o)));
}

function sameEpochs(sizes, regime) {
  return sizes.configs[`ours-fp32/${regime}`].epochs === sizes.configs[`ours-bf16/${regime}`].epochs;
}

function train(work, args) {
  const sizes = readJson(path.join(work, 'sizes.json'));
  const seeds = String(args.seeds ?? '0,1,2')
    .split(',')
    .map(Number);
  const only = args.only ? String(args.only).split(',') : undefined;
  const runs = plan(sizes, seeds, only);
  for (const [i, r] of runs.entries()) {
    const out = path.join(work, 'runs', r.name);
    if (fs.existsSync(path.join(out, 'scores.json'))) continue;
    fs.rmSync(out, { recursive: true, force: true });
    const t0 = Date.now();
    const load = loadavg();
    trainOne(work, sizes.size, r.config, r.regime, out, { epochs: r.epochs, seed: r.seed });
    if (r.config.name === 'ours-fp32') bf16Inference(work, sizes.size, r.regime, out);
    console.log(
      `[${i + 1}/${runs.length}] ${r.name}: ${r.epochs} epochs, ${((Date.now() - t0) / 60000).toFixed(1)} min (load ${load[0]} -> ${loadavg()[0]})`,
    );
  }
}

/** The same fp32-trained weights predicting in bf16: the quality cost of bf16 inference. */
function bf16Inference(work, imageSize, regime, runDir) {
  const out = path.join(runDir, 'bf16-inference');
  const data = splitDir(work, regime, imageSize);
  const log = path.join(runDir, 'log.txt');
  run(
    'node',
    [
      path.join(HERE, 'predict-split.js'),
      '--model',
      path.join(runDir, 'model.safetensors'),
      '--data',
      data,
      '--out',
      out,
      '--precision',
      'bf16',
      '--threads',
      '2',
    ],
    log,
  );
  run('node', [path.join(HERE, 'score.js'), '--data', data, '--pred', out, '--out', path.join(out, 'scores.json')], log);
}

function sweep(work, args) {
  const sizes = readJson(path.join(work, 'sizes.json'));
  const sigmas = String(args.sigmas ?? '0.015,0.03,0.06,0.12')
    .split(',')
    .map(Number);
  const seeds = String(args.seeds ?? '0')
    .split(',')
    .map(Number);
  const config = CONFIGS[1];
  // A shorter budget than the table's, at the same measured pace: the same fixed epochs for every sigma.
  const minutes = Number(args.minutes ?? 10);
  const epochs = sweepEpochs(sizes, minutes);
  for (const seed of seeds) {
    for (const sigma of sigmas) {
      const out = path.join(work, 'sweep', `sigma${sigma}`, `seed${seed}`);
      if (fs.existsSync(path.join(out, 'scores.json'))) continue;
      fs.rmSync(out, { recursive: true, force: true });
      trainOne(work, sizes.size, config, 'unsup', out, { epochs, seed, noiseStd: sigma });
      console.log(`sigma ${sigma} seed ${seed}: ${epochs} epochs done`);
    }
  }
}

/**
 * The 2025 extension's four supervision regimes, our jims model in bf16 at the bf16 budget's epochs: unsupervised
 * on the unsupervised split; weak, mixed (masks on 25 % of the defect images) and supervised on the supervised split.
 */
const SUPERVISION = [
  { setting: 'unsupervised', regime: 'unsup', fraction: undefined },
  { setting: 'weak', regime: 'sup', fraction: 0 },
  { setting: 'mixed', regime: 'sup', fraction: 0.25 },
  { setting: 'supervised', regime: 'sup', fraction: undefined },
];

function regimes(work, args) {
  const sizes = readJson(path.join(work, 'sizes.json'));
  const seeds = String(args.seeds ?? '0')
    .split(',')
    .map(Number);
  const only = args.only ? String(args.only).split(',') : undefined;
  for (const seed of seeds) {
    for (const r of SUPERVISION) {
      if (only && !only.includes(r.setting)) continue;
      const out = path.join(work, 'regimes', r.setting, `seed${seed}`);
      if (fs.existsSync(path.join(out, 'scores.json'))) continue;
      fs.rmSync(out, { recursive: true, force: true });
      const epochs = sizes.configs[`${CONFIGS[1].name}/${r.regime}`].epochs;
      const extraArgs = ['--variant', 'jims', '--setting', r.setting];
      if (r.fraction !== undefined) extraArgs.push('--mask-fraction', String(r.fraction));
      const t0 = Date.now();
      trainOne(work, sizes.size, CONFIGS[1], r.regime, out, { epochs, seed, extraArgs });
      console.log(`${r.setting} seed ${seed}: ${epochs} epochs, ${((Date.now() - t0) / 60000).toFixed(1)} min`);
    }
  }
}

function sweepEpochs(sizes, minutes) {
  return Math.max(1, Math.floor((sizes.configs[`${CONFIGS[1].name}/unsup`].epochs * minutes) / sizes.minutes));
}

// ---- tables ------------------------------------------------------------------------------------------

const METRICS = [
  ['imageAuroc', 'I-AUROC'],
  ['aupro', 'AUPRO'],
  ['imageAp', 'AP-det'],
  ['pixelAuroc', 'P-AUROC'],
];

function scoresOf(dir) {
  const file = path.join(dir, 'scores.json');
  if (!fs.existsSync(file)) return undefined;
  const s = readJson(file);
  return s.metrics ?? s.result?.metrics ?? s;
}

function meanStd(values) {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return (100 * mean).toFixed(1); // one seed has no spread to show
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / n); // population, as the benchmark
  return `${(100 * mean).toFixed(1)} ± ${(100 * std).toFixed(1)}`;
}

/** A table's title and its markdown header: `first` names the first column, then epochs, seeds and the metrics. */
function tableHead(title, first) {
  return [
    title,
    '',
    `| ${first} | epochs | seeds | ${METRICS.map(([, l]) => l).join(' | ')} |`,
    `|---|---|---|${METRICS.map(() => '---').join('|')}|`,
  ];
}

/** A row of the finished runs among dirs (seed folders, or a folder below each); the seeds are named. */
function row(label, dirs, epochs) {
  const done = dirs.filter((d) => scoresOf(d));
  if (done.length === 0) return undefined;
  const found = done.map(scoresOf);
  const seeds = done.map((d) => /seed(\d+)/.exec(d)?.[1] ?? '?').join(', ');
  const cells = METRICS.map(([k]) => meanStd(found.map((m) => m[k])));
  return `| ${label} | ${epochs} | ${seeds} | ${cells.join(' | ')} |`;
}

function table(work) {
  const sizes = readJson(path.join(work, 'sizes.json'));
  const runsDir = path.join(work, 'runs');
  const seedsOf = (name, regime) => {
    const dir = path.join(runsDir, name, regime);
    return fs.existsSync(dir) ? fs.readdirSync(dir).map((s) => path.join(dir, s)) : [];
  };
  const lines = [
    `Magnetic Tile, ${sizes.size}x${sizes.size}, budget ${sizes.minutes} min on ${sizes.cpu}, 2 threads; ` +
      'mean ± std over seeds (population std), in %.',
    '',
  ];
  for (const regime of REGIMES) {
    lines.push(...tableHead(`**${regime === 'sup' ? 'Supervised' : 'Unsupervised'}**`, 'run'));
    const ep = (name) => sizes.configs[`${name}/${regime}`]?.epochs ?? '?';
    const rows = [
      row('official code, fp32', seedsOf('official', regime), ep('official')),
      row('ours, fp32 training, fp32 inference', seedsOf('ours-fp32', regime), ep('ours-fp32')),
      row(
        'ours, fp32 training, bf16 inference',
        seedsOf('ours-fp32', regime).map((d) => path.join(d, 'bf16-inference')),
        ep('ours-fp32'),
      ),
      row(
        'ours, bf16 training, same epochs as fp32',
        seedsOf(sameEpochs(sizes, regime) ? 'ours-bf16' : 'ours-bf16-at-fp32-epochs', regime),
        ep('ours-fp32'),
      ),
      row('ours, bf16 training, same budget', seedsOf('ours-bf16', regime), ep('ours-bf16')),
    ].filter(Boolean);
    lines.push(...rows, '');
  }
  const sweepDir = path.join(work, 'sweep');
  if (fs.existsSync(sweepDir)) {
    lines.push(...tableHead('**Feature-noise σ, unsupervised, ours bf16, a fixed number of epochs**', 'σ'));
    const sigmas = fs
      .readdirSync(sweepDir)
      .map((d) => Number(d.slice(5)))
      .sort((a, b) => a - b);
    for (const sigma of sigmas) {
      const dir = path.join(sweepDir, `sigma${sigma}`);
      const runs = fs.readdirSync(dir).map((s) => path.join(dir, s));
      const r = row(String(sigma), runs, readJson(path.join(runs[0], 'result.json')).epochs);
      if (r) lines.push(r);
    }
    lines.push('');
  }
  const regimesDir = path.join(work, 'regimes');
  if (fs.existsSync(regimesDir)) {
    lines.push(...tableHead("**Supervision regimes (the 2025 extension), ours, jims variant, bf16, the bf16 budget's epochs**", 'setting'));
    for (const { setting } of SUPERVISION) {
      const dir = path.join(regimesDir, setting);
      if (!fs.existsSync(dir)) continue;
      const runs = fs.readdirSync(dir).map((s) => path.join(dir, s));
      const done = runs.find((d) => scoresOf(d));
      if (!done) continue;
      const result = readJson(path.join(done, 'result.json'));
      const label = `${setting} (${result.masked} of ${result.defects} defect images with masks)`;
      lines.push(row(label, runs, result.epochs));
    }
    lines.push('');
  }
  const text = lines.join('\n');
  fs.writeFileSync(path.join(work, 'table.md'), `${text}\n`);
  console.log(text);
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const [command] = args._;
  const work = path.resolve(args.work ?? '/tmp/quality');
  fs.mkdirSync(work, { recursive: true });
  if (command === 'size') size(work, args);
  else if (command === 'train') train(work, args);
  else if (command === 'sweep') sweep(work, args);
  else if (command === 'regimes') regimes(work, args);
  else if (command === 'table') table(work);
  else throw new Error('usage: mt.js size|train|sweep|regimes|table --work DIR (see the header of this file)');
}

main();
