import { defineConfig } from 'tsup';

// jose 6 ships ESM only. The ESM build imports it; the CommonJS build bundles it, so that loaders
// which cannot require() ESM (jest on Node 20, older bundlers) still load @authtrail/core.
// Two entries: the app and adapter API, and `@authtrail/core/sink` for sink authors.
// @authtrail/schema ships both builds itself, so it stays external in both: one copy per module
// system, shared by the two entries (bundled, each CommonJS entry had its own copy of the formats).
const common = {
  entry: ['src/index.ts', 'src/sink.ts'],
  sourcemap: true,
  target: 'node20',
} as const;

export default defineConfig([
  { ...common, format: ['esm'], dts: true, clean: true },
  { ...common, format: ['cjs'], dts: true, noExternal: ['jose'] },
]);
