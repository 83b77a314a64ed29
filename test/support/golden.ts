import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';

const GOLDEN_DIR = join(__dirname, '..', 'golden');

/**
 * Compare `actual` with `test/golden/<name>` (JSON goldens end in `.golden`, which the formatter leaves alone:
 * they are the renderer's bytes). The files were reviewed by eye once; a change in output fails
 * the test until someone looks again and reruns with `UPDATE_GOLDEN=1` to rewrite them.
 */
export function expectGolden(name: string, actual: string): void {
  const path = join(GOLDEN_DIR, name);
  const text = actual.endsWith('\n') ? actual : `${actual}\n`;
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return;
  }
  if (!existsSync(path)) {
    throw new Error(`golden file test/golden/${name} is missing: review the output and run with UPDATE_GOLDEN=1`);
  }
  expect(text, `test/golden/${name} differs (rerun with UPDATE_GOLDEN=1 after reviewing)`).toBe(
    readFileSync(path, 'utf8'),
  );
}
