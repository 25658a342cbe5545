import { resizeBilinear } from '../../lib/resize';

describe('resizeBilinear (align_corners false)', () => {
  it('doubles a 2x2 map with half-pixel centres and clamped edges', () => {
    // torch: F.interpolate(tensor([[[[0,4],[8,12]]]]), size=(4,4), mode='bilinear', align_corners=False)
    const out = resizeBilinear(Float32Array.from([0, 4, 8, 12]), 2, 2, 4, 4);
    expect(Array.from(out)).toEqual([0, 1, 3, 4, 2, 3, 5, 6, 6, 7, 9, 10, 8, 9, 11, 12]);
  });

  it('halves a map by averaging pixel pairs', () => {
    const src = Float32Array.from({ length: 16 }, (_, i) => i);
    // source centres land between pixels 2k and 2k+1 on both axes
    expect(Array.from(resizeBilinear(src, 4, 4, 2, 2))).toEqual([2.5, 4.5, 10.5, 12.5]);
  });

  it('is the identity at the same size and returns a new array', () => {
    const src = Float32Array.from([1.5, -2, 3.25, 7, 0, 9]);
    const out = resizeBilinear(src, 2, 3, 2, 3);
    expect(out).toEqual(src);
    expect(out).not.toBe(src);
  });

  it('resizes rows and columns independently (3 -> 2 wide, 1 -> 3 high)', () => {
    const out = resizeBilinear(Float32Array.from([0, 3, 6]), 1, 3, 3, 2);
    // x: scale 1.5, sources 0.25 and 1.75 -> 0.75 and 5.25; one source row repeated
    expect(Array.from(out)).toEqual([0.75, 5.25, 0.75, 5.25, 0.75, 5.25]);
  });

  it('rejects a map that does not fit its size', () => {
    expect(() => resizeBilinear(new Float32Array(5), 2, 3, 4, 4)).toThrow(RangeError);
  });
});
