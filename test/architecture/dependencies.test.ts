import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Dependencies point inward: the pure domain imports nothing of the use cases or adapters, the use cases
 * import no adapter (they declare ports; adapters implement them), and the infrastructure shares exactly one
 * small contract module with the scanner. Only the handler (and bin/ entry points) wire adapters in.
 */
const ROOT = resolve(__dirname, '../..');

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(ROOT, path)).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative import of a file, resolved to a path from the project root. */
function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/^(?:import|export)[^;]*?from '(\.[^']+)'/gms)].map((m) =>
    relative(ROOT, resolve(ROOT, file, '..', m[1] as string)),
  );
}

describe('dependencies point inward', () => {
  it('the domain imports only the domain', () => {
    const outward = files('lambda/domain').flatMap((f) =>
      imports(f)
        .filter((i) => !i.startsWith('lambda/domain/'))
        .map((i) => `${f} -> ${i}`),
    );
    expect(outward).toEqual([]);
  });

  it('no use case imports an adapter (only the handler wires them)', () => {
    const useCases = files('lambda').filter(
      (f) => !f.startsWith('lambda/adapters/') && !f.startsWith('lambda/domain/'),
    );
    expect(useCases.length).toBeGreaterThan(4);
    const outward = useCases
      // The Lambda entry points (handler.ts, and central mode's shard-handler.ts and plan-handler.ts) wire.
      .filter((f) => !/^lambda\/([a-z]+-)?handler\.ts$/.test(f))
      .flatMap((f) =>
        imports(f)
          .filter((i) => i.startsWith('lambda/adapters/'))
          .map((i) => `${f} -> ${i}`),
      );
    expect(outward).toEqual([]);
  });

  it('lib/ shares only the contract module with lambda/', () => {
    const shared = files('lib').flatMap((f) =>
      imports(f)
        .filter((i) => i.startsWith('lambda/') && i !== 'lambda/contract')
        .map((i) => `${f} -> ${i}`),
    );
    expect(shared).toEqual([]);
    expect(files('lib').some((f) => imports(f).includes('lambda/contract'))).toBe(true);
  });
});
