/**
 * The package's own name and version, read from package.json (two folders above dist/cli and lib/cli).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

export function packageInfo(): { name: string; version: string } {
  const file = path.join(__dirname, '..', '..', 'package.json');
  const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
  return { name: String(pkg.name), version: String(pkg.version) };
}
