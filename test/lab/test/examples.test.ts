// Unit test: the example topology files shipped with the package stay valid.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateTopology } from '../src/topology.js';

const examples = join(import.meta.dirname, '..', 'examples');

describe('example topologies', () => {
  const files = readdirSync(examples).filter((f) => f.endsWith('.yaml'));
  it('exist', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  it.each(files)('%s is valid', (file) => {
    const topology = validateTopology(parse(readFileSync(join(examples, file), 'utf8')));
    expect(topology.nodes.length).toBeGreaterThan(0);
  });
});
