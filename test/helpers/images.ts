/** A deterministic test image: a striped byte pattern of the seed (no decoding needed). */
import type { RawImage } from '../../lib/types';

export function testImage(seed: number, width: number, height: number, channels: 1 | 3 | 4 = 3): RawImage & { data: Uint8Array } {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + seed * 97 + ((i / width) | 0) * 7) % 256;
  return { data, width, height, channels };
}
