// authtrail verify: checks the hash chain of audit logs (no store, no network).
import { parseArgs } from 'node:util';
import { CHAIN_OPTIONS, chainReport, chainVerifier, describeChain } from '../chain.js';
import { eachLine } from '../lines.js';
import { UsageError, printableJson } from '../terminal.js';

export async function verify(args: string[]): Promise<number> {
  const { values, positionals: files } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...CHAIN_OPTIONS, json: { type: 'boolean' } },
  });
  if (files.length === 0) throw new UsageError('no files given');
  const verifier = chainVerifier(values);
  for (const file of files) {
    await eachLine(file, (text, line, partial) => verifier.add(text, file, line, partial));
  }
  for (const file of values.anchors ?? []) {
    await eachLine(file, (text, line, partial) => verifier.addAnchor(text, file, line, partial));
  }
  const report = chainReport(verifier, files);
  process.stdout.write(
    (values.json ? printableJson(report) : describeChain(report, files, 'authtrail verify')) + '\n',
  );
  return report.ok ? 0 : 1;
}
