/**
 * Checkers of ECS and OCSF renderings against the official definitions in `../shared/schemas/`
 * (beside the repository; never copied into it): OCSF 1.3.0's dictionary, categories, classes,
 * objects, includes and profiles, and ECS 8.11's `ecs_flat.json`. Each returns the problems it
 * found, empty when the document is valid.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';

type Json = Record<string, unknown>;

const repoRoot = resolve(__dirname, '..', '..', '..');
export const SCHEMAS_DIR = resolve(repoRoot, '..', 'shared', 'schemas');
const OCSF_DIR = join(SCHEMAS_DIR, 'ocsf-1.3.0');
if (!existsSync(OCSF_DIR))
  throw new Error(
    `The official OCSF and ECS definitions are expected in ${SCHEMAS_DIR} (shared/ beside the repository)`,
  );
const read = (path: string): Json => JSON.parse(readFileSync(path, 'utf8')) as Json;

// ---------------------------------------------------------------- OCSF 1.3.0

interface Attr {
  type?: string;
  is_array?: boolean;
  requirement?: string;
  enum?: Record<string, { caption: string }>;
  sibling?: string;
  profile?: string | null;
  '@deprecated'?: unknown;
}
interface Compiled {
  name: string;
  caption: string;
  attributes: Record<string, Attr>;
  constraints: { at_least_one?: string[]; just_one?: string[] };
  deprecated: boolean;
}

const dictionary = read(join(OCSF_DIR, 'dictionary.json')) as {
  attributes: Record<string, Attr>;
  types: { attributes: Record<string, { type?: string; regex?: string }> };
};
const categories = (read(join(OCSF_DIR, 'categories.json')) as { attributes: Record<string, Json> })
  .attributes;
const eventFiles = new Map<string, string>();
(function walk(dir: string) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else eventFiles.set(read(path).name as string, path);
  }
})(join(OCSF_DIR, 'events'));

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Deep merge as the OCSF server does: later definitions refine earlier ones, key by key. */
function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over))
    out[k] = isObject(v) && isObject(out[k]) ? merge(out[k], v) : v;
  return out;
}

/** A class's or object's attributes: `extends` chain, `$include`s (profiles tagged), dictionary. */
function compile(file: string, parentOf: (name: string) => Compiled): Compiled {
  const def = read(file);
  const parent = typeof def.extends === 'string' ? parentOf(def.extends) : undefined;
  let attrs: Json = parent ? { ...parent.attributes } : {};
  const own = { ...((def.attributes as Json | undefined) ?? {}) };
  for (const include of (own.$include as string[] | undefined) ?? []) {
    const included = read(join(OCSF_DIR, include));
    const profile = included.meta === 'profile' ? (included.name as string) : undefined;
    for (const [k, v] of Object.entries(included.attributes as Json))
      attrs[k] = merge(
        (attrs[k] as Json | undefined) ?? {},
        profile ? { ...(v as Json), profile } : (v as Json),
      );
  }
  delete own.$include;
  for (const [k, v] of Object.entries(own))
    attrs[k] = merge((attrs[k] as Json | undefined) ?? {}, v as Json);
  attrs = Object.fromEntries(
    Object.entries(attrs).map(([k, v]) => [
      k,
      merge((dictionary.attributes[k] as Json) ?? {}, v as Json),
    ]),
  );
  return {
    name: def.name as string,
    caption: def.caption as string,
    attributes: attrs as Record<string, Attr>,
    constraints:
      (def.constraints as Compiled['constraints'] | undefined) ?? parent?.constraints ?? {},
    deprecated: '@deprecated' in def,
  };
}

const objects = new Map<string, Compiled>();
function ocsfObject(name: string): Compiled {
  let compiled = objects.get(name);
  if (!compiled) {
    compiled = compile(join(OCSF_DIR, 'objects', `${name}.json`), ocsfObject);
    objects.set(name, compiled);
  }
  return compiled;
}

const eventParents = new Map<string, Compiled>();
function eventParent(name: string): Compiled {
  let compiled = eventParents.get(name);
  if (!compiled) {
    compiled = compile(eventFiles.get(name)!, eventParent);
    eventParents.set(name, compiled);
  }
  return compiled;
}

/** Every concrete class by class_uid, with the derived class, category and type_uid enums. */
const classes = new Map<number, Compiled>();
for (const path of eventFiles.values()) {
  const def = read(path);
  if (def.uid === undefined && def.name !== 'base_event') continue;
  const compiled = compile(path, eventParent);
  const categoryName = (def.category ??
    (def.extends && read(eventFiles.get(def.extends as string)!).category)) as string;
  const category = categories[categoryName] as { uid: number; caption: string } | undefined;
  const classUid = category ? category.uid * 1000 + (def.uid as number) : 0;
  const a = compiled.attributes;
  a.category_uid = {
    ...a.category_uid,
    enum: { [category?.uid ?? 0]: { caption: category?.caption ?? 'Uncategorized' } },
  };
  a.class_uid = { ...a.class_uid, enum: { [classUid]: { caption: compiled.caption } } };
  a.type_uid = {
    ...a.type_uid,
    enum: Object.fromEntries(
      Object.entries(a.activity_id!.enum!).map(([id, { caption }]) => [
        String(classUid * 100 + Number(id)),
        { caption: `${compiled.caption}: ${caption}` },
      ]),
    ),
  };
  classes.set(classUid, compiled);
}

/** The base type of a dictionary type (`timestamp_t` -> `long_t`) and every regex on the way. */
function scalar(type: string): { base: string; regexes: RegExp[] } {
  const regexes: RegExp[] = [];
  let t = type;
  for (;;) {
    const def = dictionary.types.attributes[t];
    if (def?.regex) regexes.push(new RegExp(def.regex));
    if (!def?.type) return { base: t, regexes };
    t = def.type;
  }
}

function scalarOk(base: string, value: unknown): boolean {
  switch (base) {
    case 'string_t':
      return typeof value === 'string';
    case 'integer_t':
    case 'long_t':
      return Number.isSafeInteger(value);
    case 'float_t':
      return typeof value === 'number';
    case 'boolean_t':
      return typeof value === 'boolean';
    case 'json_t':
      return true;
    default:
      return false;
  }
}

function checkObject(
  value: Json,
  def: Compiled,
  where: string,
  profiles: string[],
  problems: string[],
) {
  const attrs = def.attributes;
  const applies = (a: Attr) => !a.profile || profiles.includes(a.profile);
  for (const [k, v] of Object.entries(value)) {
    const path = where ? `${where}.${k}` : k;
    const attr = attrs[k];
    if (!attr) {
      problems.push(`${path} is not an attribute of ${def.name}`);
      continue;
    }
    if (!applies(attr))
      problems.push(`${path} belongs to profile ${attr.profile} not in metadata.profiles`);
    if (attr['@deprecated']) problems.push(`${path} is deprecated`);
    if (Boolean(attr.is_array) !== Array.isArray(v)) {
      problems.push(`${path} ${attr.is_array ? 'must' : 'must not'} be an array`);
      continue;
    }
    const items = Array.isArray(v) ? (v as unknown[]) : [v];
    items.forEach((item, i) => {
      const at = Array.isArray(v) ? `${path}[${i}]` : path;
      const type = attr.type ?? 'string_t';
      if (type === 'object') {
        if (!isObject(item)) problems.push(`${at} is not an object`);
      } else if (dictionary.types.attributes[type] || type.endsWith('_t')) {
        const { base, regexes } = scalar(type);
        if (!scalarOk(base, item)) problems.push(`${at} is not a ${type}`);
        else if (regexes.some((r) => !r.test(String(item))))
          problems.push(`${at} does not match ${type}`);
      } else if (!isObject(item)) {
        problems.push(`${at} is not a ${type} object`);
      } else {
        checkObject(item, ocsfObject(type), at, profiles, problems);
      }
      if (attr.enum) {
        const entry = attr.enum[String(item)];
        if (!entry) problems.push(`${at} ${JSON.stringify(item)} is not in the enum`);
        // The sibling names the enum value; only Other (99) lets the source name its own, and
        // type_name is always derived (class caption: activity caption).
        else if (
          attr.sibling &&
          (k === 'type_uid' || String(item) !== '99') &&
          attr.sibling in value &&
          value[attr.sibling] !== entry.caption
        )
          problems.push(
            `${where ? `${where}.` : ''}${attr.sibling} ${JSON.stringify(value[attr.sibling])} is not ${JSON.stringify(entry.caption)}`,
          );
      }
    });
  }
  for (const [k, a] of Object.entries(attrs))
    if (a.requirement === 'required' && applies(a) && !(k in value))
      problems.push(`${where || def.name}: missing required ${k}`);
  const { at_least_one: one, just_one: just } = def.constraints;
  if (one && !one.some((k) => k in value))
    problems.push(`${where || def.name}: needs one of ${one.join(', ')}`);
  if (just && just.filter((k) => k in value).length !== 1)
    problems.push(`${where || def.name}: needs exactly one of ${just.join(', ')}`);
}

/** Problems of an OCSF event against OCSF 1.3.0; empty when it is valid. */
export function ocsfProblems(doc: Json): string[] {
  const cls = classes.get(doc.class_uid as number);
  if (!cls) return [`class_uid ${String(doc.class_uid)} is not a class of OCSF 1.3.0`];
  const problems: string[] = [];
  if (cls.deprecated) problems.push(`class ${cls.caption} is deprecated`);
  const metadata = isObject(doc.metadata) ? doc.metadata : {};
  if (metadata.version !== '1.3.0') problems.push('metadata.version is not 1.3.0');
  const profiles = Array.isArray(metadata.profiles) ? (metadata.profiles as string[]) : [];
  checkObject(doc, cls, '', profiles, problems);
  return problems;
}

/** The OCSF class for a class_uid: its attribute names, for tests that pick one. */
export function ocsfClass(classUid: number): Compiled | undefined {
  return classes.get(classUid);
}

// ---------------------------------------------------------------- ECS 8.11

interface EcsField {
  type: string;
  normalize: string[];
  allowed_values?: { name: string; expected_event_types?: string[] }[];
}
const ecsFields = read(join(SCHEMAS_DIR, 'ecs-8.11.0', 'ecs_flat.json')) as unknown as Record<
  string,
  EcsField
>;

/** Fields ECS leaves to the product: everything under this namespace. */
export const ECS_CUSTOM_NAMESPACE = 'authtrail';

function flatten(value: Json, prefix = ''): [string, unknown][] {
  return Object.entries(value).flatMap(([k, v]) =>
    isObject(v) ? flatten(v, `${prefix}${k}.`) : [[`${prefix}${k}`, v] as [string, unknown]],
  );
}

function ecsValueOk(type: string, v: unknown): boolean {
  switch (type) {
    case 'keyword':
    case 'constant_keyword':
    case 'wildcard':
    case 'match_only_text':
      return typeof v === 'string';
    case 'long':
      return Number.isSafeInteger(v);
    case 'float':
    case 'scaled_float':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    case 'date':
      return typeof v === 'string' && !Number.isNaN(Date.parse(v));
    case 'ip':
      return typeof v === 'string' && isIP(v) !== 0;
    default:
      return false;
  }
}

/** Problems of an ECS document against ECS 8.11; empty when it is valid. */
export function ecsProblems(doc: Json): string[] {
  const problems: string[] = [];
  const flat = new Map(flatten(doc));
  for (const [k, v] of flat) {
    if (k.startsWith(`${ECS_CUSTOM_NAMESPACE}.`)) continue;
    const field = ecsFields[k];
    if (!field) {
      problems.push(`${k} is neither an ECS 8.11 field nor under ${ECS_CUSTOM_NAMESPACE}.*`);
      continue;
    }
    if (Array.isArray(v) && !field.normalize.includes('array'))
      problems.push(`${k} must not be an array`);
    const values = Array.isArray(v) ? (v as unknown[]) : [v];
    if (!values.every((x) => ecsValueOk(field.type, x)))
      problems.push(`${k} is not a ${field.type}`);
    const allowed = field.allowed_values?.map((a) => a.name);
    for (const x of values)
      if (allowed && !allowed.includes(x as string))
        problems.push(`${k} ${JSON.stringify(x)} is not allowed`);
  }
  for (const [k, f] of Object.entries(ecsFields))
    if ((f as { required?: boolean }).required && !flat.has(k)) problems.push(`missing ${k}`);
  if (flat.get('ecs.version') !== '8.11.0') problems.push('ecs.version is not 8.11.0');
  // Each event.category value lists the event.type values expected with it.
  const expected = new Map(
    ecsFields['event.category']!.allowed_values!.map((a) => [a.name, a.expected_event_types ?? []]),
  );
  const cats = (flat.get('event.category') as string[] | undefined) ?? [];
  const types = (flat.get('event.type') as string[] | undefined) ?? [];
  if (cats.length > 0 !== types.length > 0)
    problems.push('event.category and event.type go together');
  for (const c of cats)
    if (!types.some((t) => expected.get(c)?.includes(t)))
      problems.push(`no event.type expected for ${c}`);
  for (const t of types)
    if (!cats.some((c) => expected.get(c)?.includes(t)))
      problems.push(`event.type ${t} is expected by none of ${cats.join(', ')}`);
  return problems;
}
