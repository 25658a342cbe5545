import { SsnError } from '../../lib/errors';
import { outputStems } from '../../lib/cli/files';
import { exitCodeOf, formatError, formatTable, parsePositiveInt, parseSize, UsageError } from '../../lib/cli/format';

describe('parseSize', () => {
  test.each([
    ['256x256', [256, 256]],
    ['192x320', [192, 320]],
    ['256', [256, 256]],
    [' 192 X 320 ', [192, 320]],
    ['320*192', [320, 192]],
  ])('%p is [height, width] = %p', (text, expected) => {
    expect(parseSize(text)).toEqual(expected);
  });

  test.each(['abc', '256x', 'x256', '1x2x3', '-5', '256.5', '1e3', '', '256x256px'])('%p is a usage error with an example', (text) => {
    expect(() => parseSize(text)).toThrow(UsageError);
    expect(() => parseSize(text)).toThrow(
      expect.objectContaining({
        code: 'ERR_SSN_USAGE',
        message: expect.stringContaining(`received '${text}'`),
        hint: expect.stringContaining('192x320'),
      }),
    );
  });

  test('sides must exceed 12', () => {
    expect(() => parseSize('12x300')).toThrow('between 13 and 16384 but received 12x300');
    expect(parseSize('13')).toEqual([13, 13]);
  });
});

test('parsePositiveInt accepts 1.. and names the option otherwise', () => {
  expect(parsePositiveInt('8', '--batch-size')).toBe(8);
  for (const bad of ['0', '-1', '2.5', 'many', '']) {
    expect(() => parsePositiveInt(bad, '--batch-size')).toThrow(`Expected --batch-size to be a positive integer but received '${bad}'`);
  }
});

describe('error reports', () => {
  test('an SsnError: error [CODE]: message, then hint, and no stack trace', () => {
    const text = formatError(new SsnError('ERR_SSN_CHECKPOINT', 'weights.pt lacks seg_head.weight.', 'Use the official checkpoint.'));
    expect(text).toBe('error [ERR_SSN_CHECKPOINT]: weights.pt lacks seg_head.weight.\nhint: Use the official checkpoint.');
    expect(exitCodeOf(new SsnError('ERR_SSN_IO', 'x'))).toBe(1);
  });

  test('a native error (plain Error with code and hint) reads the same', () => {
    const native = Object.assign(new Error('CUDA asked for but not available.'), {
      code: 'ERR_SSN_CUDA_UNAVAILABLE',
      hint: 'Use --device cpu.',
    });
    expect(formatError(native)).toBe('error [ERR_SSN_CUDA_UNAVAILABLE]: CUDA asked for but not available.\nhint: Use --device cpu.');
  });

  test('a coded error without a hint has no hint line', () => {
    expect(formatError(new SsnError('ERR_SSN_INPUT', 'bad'))).toBe('error [ERR_SSN_INPUT]: bad');
  });

  test('usage errors exit with 2', () => {
    const e = new UsageError('Expected --size as HxW.', 'Give --size as 256x256.');
    expect(formatError(e)).toBe('error [ERR_SSN_USAGE]: Expected --size as HxW.\nhint: Give --size as 256x256.');
    expect(exitCodeOf(e)).toBe(2);
  });

  test('an unexpected error is reported as a bug, with its stack', () => {
    const e = new TypeError('x is undefined');
    const text = formatError(e);
    expect(text.split('\n')[0]).toBe('error [ERR_SSN_INTERNAL]: unexpected failure: x is undefined');
    expect(text).toContain('hint: ');
    expect(text).toContain(e.stack);
    expect(exitCodeOf(e)).toBe(1);
  });
});

test('formatTable aligns columns, numbers to the right', () => {
  const table = formatTable(
    ['file', 'score'],
    [
      ['a.png', '0.5000'],
      ['long-name.png', '12.0000'],
    ],
    ['score'],
  );
  expect(table.split('\n')).toEqual([
    'file             score',
    '-------------  -------',
    'a.png           0.5000',
    'long-name.png  12.0000',
  ]);
});

test('outputStems disambiguates equal stems, case-insensitively', () => {
  expect(outputStems(['a/x.png', 'b/x.jpg', 'c/X.png', 'y.tiff', 'x-2.png'])).toEqual(['x', 'x-2', 'X-3', 'y', 'x-2-2']);
});
