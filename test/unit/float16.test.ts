import { float16Bits, float16Value, toFloat16 } from '../../lib/export/float16';

test('float16Bits rounds float32 to the nearest half, ties to even, as a GPU cast does', () => {
  expect(float16Bits(1)).toBe(0x3c00);
  expect(float16Bits(-2)).toBe(0xc000);
  expect(float16Bits(0)).toBe(0);
  expect(float16Bits(-0)).toBe(0x8000);
  expect(float16Bits(65504)).toBe(0x7bff); // the largest half
  expect(float16Bits(65520)).toBe(0x7c00); // halfway to the next step: rounds to even, past the range
  expect(float16Bits(1e6)).toBe(0x7c00);
  expect(float16Bits(-Infinity)).toBe(0xfc00);
  expect(float16Bits(Number.NaN) & 0x7c00).toBe(0x7c00);
  expect(float16Bits(Number.NaN) & 0x3ff).not.toBe(0);
  expect(float16Bits(2 ** -14)).toBe(0x0400); // the smallest normal
  expect(float16Bits(2 ** -24)).toBe(0x0001); // the smallest subnormal
  expect(float16Bits(2 ** -25)).toBe(0); // half of it: a tie, to even (zero)
  expect(float16Bits(1.5 * 2 ** -25)).toBe(0x0001);
  expect(float16Bits(3 * 2 ** -25)).toBe(0x0002); // 1.5 steps: a tie, to even
  expect(float16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway between 1 and the next half: to even
  expect(float16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  expect(float16Bits(1 - 2 ** -12)).toBe(0x3c00); // a tie below 1, to even: up across the exponent
});

test('float16Value inverts float16Bits on every half, and the round trip is within half a step', () => {
  const wrong: number[] = [];
  for (let h = 0; h < 0x10000; h++) {
    const v = float16Value(h);
    const ok = Number.isNaN(v) ? (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0 : float16Bits(v) === h;
    if (!ok) wrong.push(h);
  }
  expect(wrong).toEqual([]);
  const data = Float32Array.from([0.1, -3.7, 123.456, 1e-5, -7e-8]);
  const half = toFloat16(data);
  data.forEach((x, i) => {
    const step = Math.max(2 ** -24, 2 ** (Math.floor(Math.log2(Math.abs(x))) - 10));
    expect(Math.abs(float16Value(half[i]) - x)).toBeLessThanOrEqual(step / 2);
  });
});
