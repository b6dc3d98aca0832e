// Every link between the documentation's pages lands: each relative link of README.md, docs/*.md
// and the packages' own READMEs points at a file or folder of the repository, each `#anchor` at a
// heading of the page it names (as GitHub makes anchors), and each reference-style link has its
// definition on its own page. The packages' READMEs are read on npm, so they link here with
// absolute URLs: those naming this repository are checked as the files they point at.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { anchors, headings, references, slug } from './support/markdown';
import { ROOT, docFiles } from './support/readme';

const REPOSITORY = 'https://github.com/authtrail/authtrail';

const packageReadmes = readdirSync(join(ROOT, 'packages'))
  .map((name) => `packages/${name}/README.md`)
  .filter((file) => existsSync(join(ROOT, file)));

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** Labels defined on any page: a bare `[label]` elsewhere is a link missing its definition. */
const definedAnywhere = new Set(
  [...docFiles(), ...packageReadmes].flatMap((file) => [...references(read(file)).defined]),
);

/** The repository file and anchor a link points at, or undefined for another site. */
function resolve(file: string, target: string): { path: string; anchor?: string } | undefined {
  let path: string;
  let anchor: string | undefined;
  if (target.startsWith(REPOSITORY)) {
    const rest = /^(?:\/(?:blob|tree)\/main\/([^#]*))?(?:#(.*))?$/.exec(
      target.slice(REPOSITORY.length),
    );
    if (!rest) return undefined; // issues, releases ...
    path = rest[1] || 'README.md';
    anchor = rest[2];
  } else if (/^[a-z][\w+.-]*:/i.test(target)) {
    return undefined; // https:, mailto: ...
  } else {
    const hash = target.indexOf('#');
    const relative = hash === -1 ? target : target.slice(0, hash);
    anchor = hash === -1 ? undefined : target.slice(hash + 1);
    path = relative === '' ? file : posix.join(dirname(file), relative);
  }
  return {
    path: decodeURIComponent(path).replace(/\/$/, ''),
    anchor: anchor === undefined ? undefined : decodeURIComponent(anchor),
  };
}

/** What is wrong with the links of `text` (the page `file`), one line each. */
function linkProblems(file: string, text: string): string[] {
  const problems: string[] = [];
  const page = references(text);
  for (const { line, target } of page.links) {
    const at = `${file}:${line}: ${target}`;
    const to = resolve(file, target);
    if (!to) continue;
    if (to.path.startsWith('..')) {
      problems.push(`${at}: leaves the repository`);
      continue;
    }
    const full = join(ROOT, to.path);
    const self = to.path === file;
    if (!self && !existsSync(full)) {
      problems.push(`${at}: ${to.path} does not exist`);
      continue;
    }
    if (to.anchor === undefined) continue;
    // GitHub's repository page has a #readme anchor of its own, before the README's headings.
    if (target === `${REPOSITORY}#readme`) continue;
    if (!self && (statSync(full).isDirectory() || !to.path.endsWith('.md'))) {
      // GitHub's line anchors (#L12, #L12-L20) are the only anchors of a file that is not Markdown.
      if (!/^L\d+(-L\d+)?$/.test(to.anchor)) problems.push(`${at}: ${to.path} has no headings`);
      continue;
    }
    const headings = self ? anchors(text) : anchors(read(to.path));
    if (!headings.has(to.anchor))
      problems.push(`${at}: ${to.path} has no heading with the anchor #${to.anchor}`);
  }
  for (const { line, label } of page.used)
    if (!page.defined.has(label))
      problems.push(`${file}:${line}: [${label}] is never defined here`);
  for (const { line, label } of page.shortcuts)
    if (definedAnywhere.has(label) && !page.defined.has(label))
      problems.push(`${file}:${line}: [${label}] is defined on another page, not on this one`);
  return problems;
}

test.each([...docFiles(), ...packageReadmes])(
  'every link in %s points at an existing file and heading',
  (file) => {
    expect(linkProblems(file, read(file))).toEqual([]);
  },
);

test.each(docFiles())(
  '%s has one title, on its first line, and its headings go down one level at a time',
  (file) => {
    const found = headings(read(file));
    expect(found[0]).toMatchObject({ level: 1, line: 1 });
    expect(found.filter((h) => h.level === 1)).toHaveLength(1);
    const skips = found.filter((h, i) => i > 0 && h.level > found[i - 1]!.level + 1);
    expect(skips.map((h) => `${file}:${h.line}: ${h.text}`)).toEqual([]);
  },
);

test('the README links every page of docs/', () => {
  const linked = new Set(
    references(read('README.md')).links.map((link) => resolve('README.md', link.target)?.path),
  );
  expect(docFiles().filter((file) => file !== 'README.md' && !linked.has(file))).toEqual([]);
});

test('a link to a missing file, a missing heading or an undefined reference is reported, code is not', () => {
  const probe = [
    '# Probe',
    '',
    'See [events](events.md#no-such-heading), [gone](gone.md), [here](#probe), [there](#nowhere),',
    '[up](../README.md#install), [out](../../elsewhere.md), [jose] and [a][undefined-label].',
    `[home](${REPOSITORY}#readme), [install](${REPOSITORY}#install), [npm](https://www.npmjs.com/),`,
    `[a page](${REPOSITORY}/blob/main/docs/events.md#fields), [not one](${REPOSITORY}/blob/main/docs/nope.md).`,
    'A link whose text [wraps',
    'onto the next line](#wrapped), and `a code span [that wraps',
    'onto the next line](gone.md)`, which is text.',
    '',
    '```md',
    '[inside a code block](gone.md) `[in a span](gone.md)`',
    '```',
  ].join('\n');
  expect(linkProblems('docs/probe.md', probe)).toEqual([
    'docs/probe.md:3: events.md#no-such-heading: docs/events.md has no heading with the anchor #no-such-heading',
    'docs/probe.md:3: gone.md: docs/gone.md does not exist',
    'docs/probe.md:3: #nowhere: docs/probe.md has no heading with the anchor #nowhere',
    'docs/probe.md:4: ../../elsewhere.md: leaves the repository',
    `docs/probe.md:6: ${REPOSITORY}/blob/main/docs/nope.md: docs/nope.md does not exist`,
    'docs/probe.md:7: #wrapped: docs/probe.md has no heading with the anchor #wrapped',
    'docs/probe.md:4: [undefined-label] is never defined here',
    'docs/probe.md:4: [jose] is defined on another page, not on this one',
  ]);
});

test.each([
  ['Integrity: hash chain and `authtrail verify`', 'integrity-hash-chain-and-authtrail-verify'],
  ['Node.js versions', 'nodejs-versions'],
  ['OpenID Provider (node-oidc-provider)', 'openid-provider-node-oidc-provider'],
  ["The provider's sign-in form", 'the-providers-sign-in-form'],
  ['Recording from a route (req.audit)', 'recording-from-a-route-reqaudit'],
  [
    'Elasticsearch `_bulk`: `elasticsearchBulk(url, options)`',
    'elasticsearch-_bulk-elasticsearchbulkurl-options',
  ],
  [
    'Forward-secure sealing: `keys.chain: { sealing }`',
    'forward-secure-sealing-keyschain--sealing-',
  ],
  ['Try it: two commands on a fresh machine', 'try-it-two-commands-on-a-fresh-machine'],
])('the heading "%s" has GitHub\'s anchor #%s', (heading, anchor) => {
  expect(slug(heading)).toBe(anchor);
});

test('a repeated heading gets -1, -2 as on GitHub, and headings in code blocks are not headings', () => {
  const text = ['## Matchers', '## Matchers', '```sh', '# not a heading', '```', '## Matchers'];
  expect([...anchors(text.join('\n'))]).toEqual(['matchers', 'matchers-1', 'matchers-2']);
});
