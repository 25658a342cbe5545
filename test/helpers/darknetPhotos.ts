/**
 * The sample photos of Debian's `darknet` package (dog.jpg, eagle.jpg, horses.jpg, ...). Where the package
 * is not installed, its .deb alone is fetched with `apt-get download` and unpacked with `dpkg -x`: no
 * dependency (OpenCV) is installed. Any failure is an error that says what to do, never a silent skip.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const SYSTEM_DARKNET_DATA = '/usr/share/darknet/data';

let unpacked: Promise<string> | undefined;
let unpackedRoot: string | undefined;

/** A folder holding darknet's data/ photos (an unpacked copy lives in a temp folder until removeDarknetCopy). */
export function darknetPhotos(): Promise<string> {
  if (existsSync(path.join(SYSTEM_DARKNET_DATA, 'dog.jpg'))) return Promise.resolve(SYSTEM_DARKNET_DATA);
  unpacked ??= unpackDarknet();
  return unpacked;
}

/** Removes the unpacked copy, if one was made (call in afterAll). */
export async function removeDarknetCopy(): Promise<void> {
  const root = unpackedRoot;
  unpacked = undefined;
  unpackedRoot = undefined;
  if (root) await fs.rm(root, { recursive: true, force: true });
}

async function unpackDarknet(): Promise<string> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ssn-darknet-'));
  unpackedRoot = tmp;
  try {
    // apt-get warns (not fails) when it downloads unsandboxed as root.
    await execFileAsync('apt-get', ['download', 'darknet'], { cwd: tmp, timeout: 120000 });
    const deb = (await fs.readdir(tmp)).find((f) => f.startsWith('darknet_') && f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download darknet wrote no darknet_*.deb');
    await execFileAsync('dpkg', ['-x', path.join(tmp, deb), path.join(tmp, 'root')], { timeout: 120000 });
  } catch (e) {
    throw new Error(
      `The darknet sample photos are needed: ${SYSTEM_DARKNET_DATA} is missing and fetching the package failed ` +
        `(${(e as Error).message.split('\n')[0]}). Install them with \`apt-get install --no-install-recommends darknet\`, ` +
        'or make the Debian archive reachable for `apt-get download darknet`.',
    );
  }
  const data = path.join(tmp, 'root', 'usr', 'share', 'darknet', 'data');
  if (!existsSync(path.join(data, 'dog.jpg'))) throw new Error(`The darknet package unpacked in ${tmp} has no data/dog.jpg`);
  return data;
}
