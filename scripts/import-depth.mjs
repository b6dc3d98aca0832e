// node scripts/import-depth.mjs [packagesDir]: how many floors the import graph of packages/*/src
// has (the modules on its longest import chain, a module importing nothing of ours being floor 1)
// and its cycles, inside each package and across them (`@authtrail/x[/sub]` leads to the entry
// the exports map names). A cycle counts as one floor and is listed. Type-only imports are counted
// in "all" and left out of "runtime"; dynamic `import()` (the CLI's lazy commands) is not an arrow.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const packagesDir = resolve(process.argv[2] ?? join(import.meta.dirname, '..', 'packages'));

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

/** `@authtrail/<pkg>[/<sub>]` -> the source of the entry its exports map names. */
function entryOf(specifier) {
  const [, pkg, sub] = /^@authtrail\/([^/]+)(?:\/(.+))?$/.exec(specifier) ?? [];
  if (!pkg || !existsSync(join(packagesDir, pkg, 'package.json'))) return undefined;
  const manifest = JSON.parse(readFileSync(join(packagesDir, pkg, 'package.json'), 'utf8'));
  const target = manifest.exports?.[sub ? `./${sub}` : '.']?.import?.default;
  if (typeof target !== 'string') return undefined;
  return join(packagesDir, pkg, target.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
}

function resolveImport(from, specifier) {
  if (specifier.startsWith('@authtrail/')) return entryOf(specifier);
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier.replace(/\.js$/, ''));
  return [`${base}.ts`, join(base, 'index.ts')].find(existsSync);
}

/** Static imports and re-exports of a file: `{ to, typeOnly }`. */
function importsOf(file) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const out = [];
  for (const s of source.statements) {
    if (!(ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) || !s.moduleSpecifier) continue;
    const to = resolveImport(file, s.moduleSpecifier.text);
    if (!to) continue;
    let typeOnly;
    if (ts.isImportDeclaration(s)) {
      const clause = s.importClause;
      const named = clause?.namedBindings;
      typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (!clause.name &&
            named !== undefined &&
            ts.isNamedImports(named) &&
            named.elements.length > 0 &&
            named.elements.every((e) => e.isTypeOnly)));
    } else {
      const named = s.exportClause;
      typeOnly =
        s.isTypeOnly ||
        (named !== undefined &&
          ts.isNamedExports(named) &&
          named.elements.length > 0 &&
          named.elements.every((e) => e.isTypeOnly));
    }
    out.push({ to, typeOnly });
  }
  return out;
}

/** Floors (longest chain over the graph with each cycle condensed to one floor), the chain, the cycles. */
function floors(nodes, edges) {
  // Tarjan's strongly connected components.
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const comp = new Map();
  const comps = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const members = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        comp.set(w, comps.length);
        members.push(w);
      } while (w !== v);
      comps.push(members);
    }
  };
  for (const v of nodes) if (!idx.has(v)) visit(v);
  // Tarjan emits components in reverse topological order: dependencies first.
  const depth = [];
  const next = [];
  comps.forEach((members, c) => {
    depth[c] = 1;
    next[c] = -1;
    for (const v of members)
      for (const w of edges.get(v)) {
        const d = comp.get(w);
        if (d !== c && depth[d] + 1 > depth[c]) {
          depth[c] = depth[d] + 1;
          next[c] = d;
        }
      }
  });
  let top = 0;
  depth.forEach((d, c) => {
    if (d > depth[top]) top = c;
  });
  const chain = [];
  for (let c = top; c !== -1; c = next[c])
    chain.push(comps[c].length > 1 ? `{cycle of ${comps[c].length}}` : comps[c][0]);
  return { floors: depth[top] ?? 0, chain, cycles: comps.filter((m) => m.length > 1) };
}

const files = readdirSync(packagesDir)
  .filter((p) => existsSync(join(packagesDir, p, 'src')))
  .flatMap((p) => sources(join(packagesDir, p, 'src')));
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const name = (f) => (f.startsWith('{') ? f : relative(packagesDir, f));

function report(label, keep, runtime) {
  const nodes = files.filter(keep);
  const edges = new Map(
    nodes.map((f) => [
      f,
      graph
        .get(f)
        .filter((e) => keep(e.to) && !(runtime && e.typeOnly))
        .map((e) => e.to),
    ]),
  );
  const r = floors(nodes, edges);
  process.stdout.write(
    `${label} (${runtime ? 'runtime' : 'all'} imports): ${r.floors} floors, ${r.cycles.length} cycles\n` +
      `  ${r.chain.map(name).join(' -> ')}\n` +
      r.cycles.map((c) => `  cycle: ${c.map(name).join(', ')}\n`).join(''),
  );
}

for (const runtime of [false, true]) {
  report('whole house', () => true, runtime);
  for (const pkg of ['core', 'schema'].filter((p) => existsSync(join(packagesDir, p, 'src'))))
    report(`inside ${pkg}`, (f) => f.startsWith(join(packagesDir, pkg, 'src')), runtime);
}
