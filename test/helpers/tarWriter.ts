/**
 * A minimal tar writer for tests: ustar headers, and a pax 'path' record for names over 100 bytes.
 */
export interface TarFile {
  name: string;
  data: Buffer;
  type?: string;
  /** The target of a link entry (type '1' hard link, '2' symlink). */
  link?: string;
}

function header(name: string, size: number, type: string, link = ''): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, 'utf8');
  block.write('0000644\0', 100, 'ascii');
  block.write('0000000\0', 108, 'ascii');
  block.write('0000000\0', 116, 'ascii');
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  block.write('00000000000\0', 136, 'ascii');
  block.write(type, 156, 'ascii');
  block.write(link, 157, 100, 'utf8');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/** A pax record "LEN path=value\n", where LEN counts the whole record, its own digits included. */
function paxPath(name: string): Buffer {
  const body = ` path=${name}\n`;
  const n = Buffer.byteLength(body);
  let length = n + String(n).length;
  if (String(length).length !== String(n).length) length = n + String(length).length;
  return Buffer.from(`${length}${body}`);
}

export function writeTar(files: TarFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    let name = f.name;
    if (Buffer.byteLength(name) > 100) {
      const pax = paxPath(name);
      parts.push(header('PaxHeader/long', pax.length, 'x'), padded(pax));
      name = name.slice(0, 100);
    }
    parts.push(header(name, f.data.length, f.type ?? '0', f.link), padded(f.data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
