// The README's JavaScript code blocks, with the marker before each: `<!-- example: NAME -->` for a
// block that runs as written (test/readme.test.ts or test/jest-kit.test.ts runs it) or
// `<!-- fragment -->` for one that needs the reader's app around it (its syntax and imports are
// checked). A ```js block with neither marker is an error, so a new snippet cannot go unchecked.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

export interface ReadmeBlock {
  /** The example's name, or undefined for a fragment. */
  example: string | undefined;
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
}

export function readmeBlocks(text = readFileSync(join(ROOT, 'README.md'), 'utf8')): ReadmeBlock[] {
  const lines = text.split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```js') continue;
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const marker = /^<!-- (?:example: ([\w-]+)|(fragment)) -->$/.exec(lines[before] ?? '');
    if (!marker) throw new Error(`README.md:${i + 1}: a \`\`\`js block without a marker`);
    const end = lines.indexOf('```', i + 1);
    if (end === -1) throw new Error(`README.md:${i + 1}: the block is never closed`);
    blocks.push({
      example: marker[1],
      line: i + 1,
      code: lines.slice(i + 1, end).join('\n') + '\n',
    });
    i = end;
  }
  return blocks;
}

/** The block marked `<!-- example: name -->`. */
export function readmeExample(name: string): string {
  const block = readmeBlocks().find((b) => b.example === name);
  if (!block) throw new Error(`no \`\`\`js block after <!-- example: ${name} --> in README.md`);
  return block.code;
}
