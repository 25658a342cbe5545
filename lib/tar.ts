/**
 * A small reader of (gzip'd) tar archives: enough for npm tarballs (ustar headers, pax and GNU long names).
 * Written here rather than taken from npm because the default-backbone fetch needs only this much and
 * reads an archive whose integrity it has already checked.
 */
import { SsnError } from './errors';

export interface TarEntry {
  /** The path inside the archive, with '/' separators (prefix and pax/GNU long names applied). */
  name: string;
  /** '0' regular file, '5' directory, '2' symlink, ... (ustar typeflag). */
  type: string;
  size: number;
  /** A view into the archive: copy it to keep it past the archive's lifetime. */
  data: Buffer;
}

const BLOCK = 512;

function corrupt(source: string, why: string): SsnError {
  return new SsnError(
    'ERR_SSN_IO',
    `${source} is not a valid tar archive: ${why}.`,
    'Delete it and download it again.',
  );
}

/** A NUL-terminated string field. */
function text(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.toString('utf8', 0, end < 0 ? field.length : end);
}

/** A numeric field: octal text, or base-256 (GNU) when the high bit of the first byte is set. */
function number(block: Buffer, offset: number, length: number): number {
  const field = block.subarray(offset, offset + length);
  if (field[0] & 0x80) {
    let value = field[0] & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i];
    return value;
  }
  const digits = text(block, offset, length).trim();
  return digits.length === 0 ? 0 : parseInt(digits, 8);
}

/** The header checksum: the unsigned byte sum with the checksum field counted as spaces. */
function checksumOf(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return sum;
}

/** Pax extended header records: "LEN key=value\n" repeated. */
function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const length = parseInt(data.toString('ascii', at, space), 10);
    if (!(length > 0)) break;
    const record = data.toString('utf8', space + 1, at + length - 1); // drop the trailing '\n'
    const eq = record.indexOf('=');
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

/** Lists the entries of an uncompressed tar archive, in order. Metadata entries (pax, GNU long names) are applied, not returned. */
export function readTar(archive: Buffer, source = 'the archive'): TarEntry[] {
  const entries: TarEntry[] = [];
  let longName: string | undefined;
  let paxPath: string | undefined;
  let at = 0;
  while (at < archive.length) {
    if (at + BLOCK > archive.length) throw corrupt(source, `the header at byte ${at} is truncated`);
    const header = archive.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break; // end-of-archive marker
    const stored = number(header, 148, 8);
    if (stored !== checksumOf(header)) throw corrupt(source, `bad header checksum at byte ${at}`);
    const size = number(header, 124, 12);
    const type = String.fromCharCode(header[156] || 0x30); // old tar: NUL means a regular file
    const dataStart = at + BLOCK;
    if (dataStart + size > archive.length) throw corrupt(source, `entry at byte ${at} runs past the end`);
    const data = archive.subarray(dataStart, dataStart + size);
    at = dataStart + Math.ceil(size / BLOCK) * BLOCK;

    if (type === 'L') {
      longName = text(data, 0, data.length);
      continue;
    }
    if (type === 'x') {
      paxPath = paxRecords(data).get('path') ?? paxPath;
      continue;
    }
    if (type === 'g') continue; // global pax header: nothing we need
    let name = text(header, 0, 100);
    const magic = text(header, 257, 6);
    if (magic.startsWith('ustar')) {
      const prefix = text(header, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    name = paxPath ?? longName ?? name;
    paxPath = undefined;
    longName = undefined;
    entries.push({ name, type, size, data });
  }
  return entries;
}
