import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Arrows that must never be: every package may import core's entries, never its internals; core
// imports no other authtrail package but @authtrail/schema, and no framework (not even for types), so
// the adapters, the jest kit and the packages of the second half build on it and never the other way
// round. The schema imports nothing at all: no authtrail package, no Node.js built-in, no dependency.
const INTERNALS = {
  group: ['@authtrail/*/src/*', '@authtrail/*/dist/*'],
  message: 'Import the package entry, not its internals.',
};
const BUILT_ON_CORE = {
  group: ['@authtrail/*', '!@authtrail/core'],
  message: 'Packages build on @authtrail/core only; nothing imports an adapter or a tool.',
};
// core has two entries: the app and adapter API, and `@authtrail/core/sink` for sink authors.
const CORE_ENTRIES = {
  group: ['@authtrail/core/*', '!@authtrail/core/sink'],
  message: 'Import @authtrail/core or @authtrail/core/sink, nothing deeper.',
};
// Sinks outside core build on `@authtrail/core/sink` and the app API; the adapter kit (what
// core/src/node/index.ts exports, read from it so a helper added there is covered at once) is for
// adapters. A sink package of the second half (OTLP, PostgreSQL) joins this list.
const SINK_PACKAGES = ['winston'];
const ADAPTER_KIT = [
  ...readFileSync(new URL('packages/core/src/node/index.ts', import.meta.url), 'utf8').matchAll(
    /export\s*(?:type\s*)?\{([^}]*)\}/g,
  ),
]
  .flatMap((m) => m[1].split(','))
  .map((name) => name.replace(/^\s*type\s+/, '').trim())
  .filter(Boolean);
const STORE_ON_SINK =
  'The store builds on @authtrail/schema and @authtrail/core/sink only (not the app API, no adapter).';
const ENGINE_ON_STORE =
  'A store engine builds on @authtrail/store, @authtrail/schema and @authtrail/core/sink (and its driver).';
const DETECT_ON_SINK =
  'The detectors build on @authtrail/schema and @authtrail/core/sink only (not the app API, no adapter).';
const DETECT_REDIS_ON =
  'The Redis state builds on @authtrail/detect, @authtrail/schema and @authtrail/core/sink (and ioredis).';
const DRIVERS = ['pg', 'pg-pool', '@electric-sql/pglite', 'mysql2', 'better-sqlite3'];
const NODE_FREE = 'schema uses no Node.js API: browsers import it (web-standard APIs only).';
const FRAMEWORKS = [
  'express',
  'koa',
  'fastify',
  'fastify-plugin',
  'winston',
  'oidc-provider',
  'express-openid-connect',
].map((name) => ({
  name,
  message: 'core is framework-free: it defines the neutral shapes adapters fill.',
}));

/**
 * A package's sources import core's sink entry, the schema and `allowed` of ours (with their
 * third-party dependencies); never core's app API, its internals, or another package of ours.
 */
function importRules(name, allowed, message) {
  return {
    files: [`packages/${name}/src/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@authtrail/core', message }],
          patterns: [
            INTERNALS,
            CORE_ENTRIES,
            {
              group: [
                '@authtrail/*',
                '!@authtrail/schema',
                '!@authtrail/core',
                ...allowed.map((allow) => `!${allow}`),
              ],
              message,
            },
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['packages/*/src/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
      'no-restricted-imports': ['error', { patterns: [INTERNALS, BUILT_ON_CORE, CORE_ENTRIES] }],
    },
  },
  {
    files: SINK_PACKAGES.map((name) => `packages/${name}/src/**/*.ts`),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@authtrail/core',
              importNames: ADAPTER_KIT,
              message:
                'A sink builds on @authtrail/core/sink and the app API, not the adapter kit.',
            },
          ],
          patterns: [INTERNALS, BUILT_ON_CORE, CORE_ENTRIES],
        },
      ],
    },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: FRAMEWORKS,
          patterns: [
            INTERNALS,
            {
              group: ['@authtrail/*', '!@authtrail/schema'],
              message: 'core imports no other authtrail package but @authtrail/schema.',
            },
          ],
        },
      ],
    },
  },
  {
    // The store (interface, schema, query language, storeSink) is engine-neutral: the event model,
    // the sink kit, nothing of core's app API and no database driver. Its engines add the store and
    // their own driver.
    files: ['packages/store/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@authtrail/core', message: STORE_ON_SINK },
            ...DRIVERS.map((name) => ({
              name,
              message: 'The store is engine-neutral: drivers live in its engines.',
            })),
          ],
          patterns: [
            INTERNALS,
            CORE_ENTRIES,
            {
              group: ['@authtrail/*', '!@authtrail/schema', '!@authtrail/core'],
              message: STORE_ON_SINK,
            },
          ],
        },
      ],
    },
  },
  // The detectors are a sink: they read the events and record their decisions through the sink
  // host, so the event model and the sink kit are all they need (no app API, no adapter kit).
  importRules('detect', [], DETECT_ON_SINK),
  // Shared detector state: a DetectorState of @authtrail/detect on ioredis, nothing else of ours.
  importRules('detect-redis', ['@authtrail/detect'], DETECT_REDIS_ON),
  // A store engine builds on the store; the embedded engine adapts, running the PostgreSQL
  // engine's code on PGlite, so it imports that engine too.
  importRules('store-postgres', ['@authtrail/store'], ENGINE_ON_STORE),
  importRules('store-embedded', ['@authtrail/store', '@authtrail/store-postgres'], ENGINE_ON_STORE),
  {
    // The console is an app of core's (its auditor records every access) reading a store through
    // the engine-neutral interface: core's entries, the schema, the store; no engine, no adapter.
    files: ['packages/console/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            INTERNALS,
            CORE_ENTRIES,
            {
              group: [
                '@authtrail/*',
                '!@authtrail/core',
                '!@authtrail/schema',
                '!@authtrail/store',
              ],
              message:
                'The console builds on @authtrail/core, @authtrail/schema and @authtrail/store (the Store interface), no engine or adapter.',
            },
          ],
        },
      ],
    },
  },
  {
    // The CLI reaches every package, lazily: a static import of the store would load pg for
    // `authtrail verify`. Types are free; values come through `import()` in src/store.ts.
    files: ['packages/cli/src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [INTERNALS, CORE_ENTRIES] }],
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@authtrail/*', '!@authtrail/core'],
              allowTypeImports: true,
              message: 'The CLI loads this package lazily: import() it in src/store.ts.',
            },
          ],
        },
      ],
    },
  },
  {
    // A browser loads the schema as it is: its tsconfig has no Node types, and these arrows say why.
    files: ['packages/schema/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules.map((name) => ({ name, message: NODE_FREE })),
          patterns: [
            { group: ['node:*'], message: NODE_FREE },
            {
              group: ['@authtrail/*'],
              message: 'schema imports no authtrail package: core and the rest build on it.',
            },
            {
              // Anything else that is not a relative path: a dependency.
              regex: `^(?!\\.{1,2}/|node:|@authtrail/|(?:${builtinModules.join('|')})(?:/|$))`,
              message: 'schema has no dependencies: it is the event model, and imports nothing.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        fetch: 'readonly',
        Buffer: 'readonly',
        URLSearchParams: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
      },
    },
  },
);
