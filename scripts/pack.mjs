// npm run pack: the public packages as tarballs in .packs/ (or the directory given), installable
// before anything is on the registry (npm run pack builds first). Prints the install line for them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = join(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? join(root, '.packs'));
mkdirSync(out, { recursive: true });

const tarballs = [];
for (const dir of readdirSync(join(root, 'packages')).sort()) {
  const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
  if (pkg.private) continue;
  // npm pack writes only the tarball's name on stdout (its file listing goes to stderr).
  const name = execFileSync('npm', ['pack', '--pack-destination', out, '--workspace', pkg.name], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    shell: process.platform === 'win32',
  }).trim();
  tarballs.push(join(out, name.split('\n').pop()));
}
// Absolute paths: the line is pasted in the app's directory, not in this repository.
process.stdout.write(
  `Packed ${tarballs.length} packages. Install those you need in your app (always with core and schema), for example:\n` +
    `  npm install ${tarballs.join(' ')}\n`,
);
