/**
 * Dataset split files are Python pickles (KSDD2 split_*.pyb, Sensum *.pckl). They are read by the core's
 * own pickle VM (cpp/io/pickle.h) through the addon: nothing Python runs, and only plain data is accepted.
 */
import { fromNative, SsnError } from '../errors';
import { loadNative } from '../native';

/** The pickle at `file` as a JSON value (tuples and lists become arrays). */
export async function readPickle(file: string): Promise<unknown> {
  try {
    return JSON.parse(await loadNative().readPickleJson(file)) as unknown;
  } catch (e) {
    throw fromNative(e);
  }
}

/** One (sample id, is_segmented) entry of a split list. */
export interface SplitEntry {
  id: string;
  segmented: boolean;
}

/**
 * A list of (sample_id, is_segmented) pairs; ids may be ints or strings. `what` names the list in errors.
 * `formatId` turns an int id into the file stem (e.g. zero-padding).
 */
export function splitEntries(value: unknown, what: string, hint: string, formatId: (n: number) => string = String): SplitEntry[] {
  if (!Array.isArray(value)) {
    throw new SsnError('ERR_SSN_INPUT', `Expected a list of (sample_id, is_segmented) pairs in ${what}`, hint);
  }
  return value.map((entry, i) => {
    const pair = Array.isArray(entry) ? entry : [entry, true];
    const [id, segmented] = pair as unknown[];
    if (pair.length < 1 || (typeof id !== 'number' && typeof id !== 'string')) {
      throw new SsnError(
        'ERR_SSN_INPUT',
        `Expected entry ${i} of ${what} to be (sample_id, is_segmented) but received ${JSON.stringify(entry)}`,
        hint,
      );
    }
    const text = typeof id === 'number' ? formatId(id) : id.replace(/\.(png|jpg|bmp)$/i, '');
    return { id: text, segmented: segmented === undefined ? true : Boolean(segmented) };
  });
}
