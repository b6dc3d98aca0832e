import { defineConfig } from 'tsup';

/** The build of a package with one entry (`src/index.ts`): ESM and CommonJS with declarations. */
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
