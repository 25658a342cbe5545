import * as vm from 'node:vm';

import {
  describe as describeValue,
  expectInteger,
  expectOneOf,
  fromNative,
  invalidOption,
  isSsnErrorCode,
  SSN_ERROR_CODES,
  SsnError,
} from '../../lib/errors';

describe('SsnError', () => {
  it('is an Error with a code, a hint and a cause', () => {
    const cause = new Error('below');
    const e = new SsnError('ERR_SSN_SHAPE', 'bad shape', 'resize it', { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('SsnError');
    expect(e.code).toBe('ERR_SSN_SHAPE');
    expect(e.hint).toBe('resize it');
    expect(e.cause).toBe(cause);
    expect(e.stack).toContain('bad shape');
  });

  it('leaves hint and cause out when not given', () => {
    const e = new SsnError('ERR_SSN_IO', 'x');
    expect('hint' in e).toBe(false);
    expect('cause' in e).toBe(false);
  });

  it('knows every code, including the loader one', () => {
    expect(SSN_ERROR_CODES).toContain('ERR_SSN_NATIVE_LOAD');
    expect(SSN_ERROR_CODES).toHaveLength(11);
    expect(isSsnErrorCode('ERR_SSN_DISTRIBUTED')).toBe(true);
    expect(isSsnErrorCode('ERR_SSN_CUDA_UNAVAILABLE')).toBe(true);
    expect(isSsnErrorCode('ERR_OTHER')).toBe(false);
    expect(isSsnErrorCode(3)).toBe(false);
  });
});

describe('fromNative', () => {
  it('keeps the code, message and hint of an addon error and makes it the cause', () => {
    const native = Object.assign(new TypeError('Expected a Uint8Array'), { code: 'ERR_SSN_INPUT', hint: 'use raw bytes' });
    const e = fromNative(native);
    expect(e).toBeInstanceOf(SsnError);
    expect(e.code).toBe('ERR_SSN_INPUT');
    expect(e.message).toBe('Expected a Uint8Array');
    expect(e.hint).toBe('use raw bytes');
    expect(e.cause).toBe(native);
  });

  it('recognises errors made in another realm', () => {
    const foreign = vm.runInNewContext('Object.assign(new Error("no file"), { code: "ERR_SSN_IO" })') as unknown;
    expect(foreign instanceof Error).toBe(false);
    expect(fromNative(foreign)).toMatchObject({ code: 'ERR_SSN_IO', message: 'no file' });
  });

  it('maps unknown codes and plain errors to ERR_SSN_INTERNAL', () => {
    expect(fromNative(Object.assign(new Error('x'), { code: 'ENOENT' })).code).toBe('ERR_SSN_INTERNAL');
    expect(fromNative(new RangeError('y')).code).toBe('ERR_SSN_INTERNAL');
    const odd = fromNative('a string');
    expect(odd.code).toBe('ERR_SSN_INTERNAL');
    expect(odd.message).toContain("'a string' (string)");
  });

  it('returns an SsnError unchanged', () => {
    const e = new SsnError('ERR_SSN_ABORTED', 'stop');
    expect(fromNative(e)).toBe(e);
  });
});

describe('option messages', () => {
  it('say what was expected, for which option, and what was received', () => {
    const e = invalidOption('an integer > 12', 'imageSize', 7.5, 'pick 256');
    expect(e.code).toBe('ERR_SSN_INPUT');
    expect(e.message).toBe('Expected an integer > 12 for imageSize but received 7.5 (number)');
    expect(e.hint).toBe('pick 256');
  });

  it('describe values briefly', () => {
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(null)).toBe('null');
    expect(describeValue('x'.repeat(100))).toBe(`'${'x'.repeat(60)}...' (string)`);
    expect(describeValue(true)).toBe('true (boolean)');
    expect(describeValue([1, 2])).toBe('an array of length 2');
    expect(describeValue(Buffer.alloc(3))).toBe('a Buffer of 3 bytes');
    expect(describeValue(new Float32Array(2))).toBe('a Float32Array');
    expect(describeValue({})).toBe('an object');
    expect(describeValue(new Map())).toBe('a Map');
    expect(describeValue(() => 1)).toBe('a function');
  });

  it('check integers with their range in the message', () => {
    expect(expectInteger(5, 'n', 1, 9)).toBe(5);
    expect(() => expectInteger(0, 'n', 1, 9)).toThrow('Expected an integer between 1 and 9 for n but received 0 (number)');
    expect(() => expectInteger(2.5, 'n', 1)).toThrow('Expected an integer >= 1 for n but received 2.5 (number)');
    expect(() => expectInteger('3', 'n', 1)).toThrow("received '3' (string)");
  });

  it('check enumerations listing the allowed values', () => {
    expect(expectOneOf('cpu', 'device', ['auto', 'cpu'])).toBe('cpu');
    expect(() => expectOneOf('gpu', 'device', ['auto', 'cpu'])).toThrow(
      "Expected one of 'auto', 'cpu' for device but received 'gpu' (string)",
    );
  });
});
