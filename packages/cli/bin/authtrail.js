#!/usr/bin/env node
// The `authtrail` command. This file is committed, not built, so that npm links the bin when it
// installs the workspace, before the first build: without it `npx authtrail` in a fresh clone found
// no local bin and asked the registry for someone's unscoped `authtrail` package.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.js', import.meta.url);
if (existsSync(cli)) {
  await import(cli.href);
} else {
  process.stderr.write(
    'authtrail: the command is not built yet (packages/cli/dist/cli.js is missing).\n' +
      'Run `npm run build` at the root of the authtrail repository, then try again.\n',
  );
  process.exitCode = 2;
}
