import { readFileSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Arrows that must never be: every package may import core's entries, never its internals; core
// imports no other authtrail package and no framework (not even for types), so the adapters, the jest
// kit and the packages of the second half build on it and never the other way round.
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
            { group: ['@authtrail/*'], message: 'core imports no other authtrail package.' },
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
