import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Arrows that must never be: every package may import core's entry, never its internals; core imports
// no other authtrail package and no framework (not even for types), so the adapters, the jest kit and
// the packages of the second half build on it and never the other way round.
const INTERNALS = {
  group: ['@authtrail/*/src/*', '@authtrail/core/dist/*'],
  message: 'Import the package entry, not its internals.',
};
const BUILT_ON_CORE = {
  group: ['@authtrail/*', '!@authtrail/core'],
  message: 'Packages build on @authtrail/core only; nothing imports an adapter or a tool.',
};
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
      'no-restricted-imports': ['error', { patterns: [INTERNALS, BUILT_ON_CORE] }],
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
