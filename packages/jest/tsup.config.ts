import { defineConfig } from 'tsup';

// Two entries: the kit, and `setup` for jest's setupFilesAfterEnv. jose 6 ships ESM only: the ESM
// build imports it, the CommonJS build bundles it, so jest's CommonJS runtime on Node 20 can load
// the kit (as in @authtrail/core).
const common = {
  entry: ['src/index.ts', 'src/setup.ts'],
  sourcemap: true,
  target: 'node20',
} as const;

export default defineConfig([
  { ...common, format: ['esm'], dts: true, clean: true },
  { ...common, format: ['cjs'], dts: true, noExternal: ['jose'] },
]);
