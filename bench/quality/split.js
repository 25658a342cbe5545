'use strict';
/**
 * An exported split (export-split.js) as DatasetItems of raw pixels at the model size: what our package
 * trains on, the same pixels the official driver reads.
 */
const path = require('node:path');

const { pkg } = require('./common');

/** The `part` ('train' | 'test') items: images, labels, and masks (0/255) where the split has them. */
async function splitItems(data, split, part) {
  const { readNpy } = pkg('npy');
  const [height, width] = split.imageSize;
  const images = await readNpy(path.join(data, `${part}_images.npy`));
  const masks = await readNpy(path.join(data, `${part}_masks.npy`));
  const per = height * width;
  return split[part].ids.map((id, k) => {
    const item = {
      id,
      label: split[part].labels[k],
      image: { data: images.data.subarray(k * per * 3, (k + 1) * per * 3), width, height, channels: 3 },
    };
    if (split[part].hasMask[k]) {
      const m = new Uint8Array(per);
      for (let i = 0; i < per; i++) m[i] = masks.data[k * per + i] * 255;
      item.mask = { data: m, width, height, channels: 1 };
    }
    return item;
  });
}

module.exports = { splitItems };
