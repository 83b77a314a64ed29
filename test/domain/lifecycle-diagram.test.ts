import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lifecycleDiagram, TRANSITIONS } from '../../lambda/domain/lifecycle';

describe('the README draws the lifecycle that the code runs', () => {
  it('shows the diagram generated from TRANSITIONS, edge for edge', () => {
    const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');

    expect(readme).toContain(`\`\`\`mermaid\n${lifecycleDiagram()}\n\`\`\``);
  });

  it('draws every change of phase the table allows', () => {
    const diagram = lifecycleDiagram();
    const edges = TRANSITIONS.flatMap((r) => r.from.filter((f) => f !== r.to).map((f) => `${f} --> ${r.to}`));

    for (const edge of edges) expect(diagram).toContain(edge);
  });
});
