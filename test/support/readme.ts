// The JavaScript code blocks of the documentation (README.md and every docs/*.md page), with the
// marker before each: `<!-- example: NAME -->` for a block that runs as written
// (test/readme.test.ts or test/jest-kit.test.ts runs it) or `<!-- fragment -->` for one that needs
// the reader's app around it (its syntax and imports are checked). A ```js block with neither
// marker is an error, so a new snippet cannot go unchecked, wherever it is written; so is a block
// fenced as `javascript`, `mjs`, `cjs` or `jsx`, which would otherwise slip past the `js` the
// checker looks for.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fences } from './markdown';

export const ROOT = join(__dirname, '..', '..');

/** README.md and the docs/*.md pages, as paths from the repository's root. */
export function docFiles(): string[] {
  const pages = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...pages];
}

export interface ReadmeBlock {
  /** The example's name, or undefined for a fragment. */
  example: string | undefined;
  /** Where the opening fence is, as `file:line` (1-based), for messages. */
  at: string;
  code: string;
}

const JS_ALIASES = new Set(['javascript', 'mjs', 'cjs', 'jsx']);

/** The marked ```js blocks of one Markdown file; `file` names it in errors. */
export function blocksOf(file: string, text: string): ReadmeBlock[] {
  const lines = text.split('\n');
  const blocks: ReadmeBlock[] = [];
  for (const fence of fences(lines)) {
    const at = `${file}:${fence.open + 1}`;
    if (JS_ALIASES.has(fence.info))
      throw new Error(`${at}: fence the block as \`\`\`js (not ${fence.info}) so it is checked`);
    if (fence.info !== 'js') continue;
    if (fence.close === undefined) throw new Error(`${at}: the block is never closed`);
    let before = fence.open - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const marker = /^<!-- (?:example: ([\w-]+)|(fragment)) -->$/.exec(lines[before]?.trim() ?? '');
    if (!marker) throw new Error(`${at}: a \`\`\`js block without a marker`);
    blocks.push({
      example: marker[1],
      at,
      // A block inside a list item is indented with it: the code is what is under the fence.
      code:
        lines
          .slice(fence.open + 1, fence.close)
          .map((line) => line.slice(Math.min(fence.indent, line.length - line.trimStart().length)))
          .join('\n') + '\n',
    });
  }
  return blocks;
}

/**
 * Every marked block of `pages` (README.md and docs/*.md, as `[file, text]`); an example's name
 * is unique across them, since the tests find an example by its name alone.
 */
export function readmeBlocks(
  pages: [file: string, text: string][] = docFiles().map((file) => [
    file,
    readFileSync(join(ROOT, file), 'utf8'),
  ]),
): ReadmeBlock[] {
  const blocks = pages.flatMap(([file, text]) => blocksOf(file, text));
  const seen = new Map<string, string>();
  for (const { example, at } of blocks) {
    if (!example) continue;
    const first = seen.get(example);
    if (first) throw new Error(`${at}: example ${example} is already the block at ${first}`);
    seen.set(example, at);
  }
  return blocks;
}

/** The block marked `<!-- example: name -->`, in whichever file holds it. */
export function readmeExample(name: string): ReadmeBlock {
  const block = readmeBlocks().find((b) => b.example === name);
  if (!block)
    throw new Error(
      `no \`\`\`js block after <!-- example: ${name} --> in ${docFiles().join(', ')}`,
    );
  return block;
}
