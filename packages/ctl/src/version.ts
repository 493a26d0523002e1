// The client version: read from this package's package.json, found by walking up from this module
// (works both from src/ under Vitest and from dist/src/ in the built executable).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function clientVersion(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    const candidate = join(directory, 'package.json');
    if (existsSync(candidate)) {
      const manifest = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === '@caracal/ctl' && typeof manifest.version === 'string') return manifest.version;
    }
    directory = dirname(directory);
  }
  return 'unknown';
}
