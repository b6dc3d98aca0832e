// Compile-time checks of core's two entries (run by `tsc -p tsconfig.json` in `npm test`, never
// executed): what a sink author gets from `@authtrail/core/sink`, and what neither entry exports.
import * as core from '@authtrail/core';
import {
  checkOptions,
  formatEvent,
  httpSender,
  resolveHttp,
  type Batch,
  type OptionCheck,
  type Sink,
} from '@authtrail/core/sink';

// A sink typed against the sink entry is what the main entry's auditor takes.
const sink: Sink = {
  name: 'kit',
  write: (batch: Batch) => void formatEvent(batch.events[0]!, 'ecs'),
};
core.createAuditor({ sinks: [sink] });

const check: OptionCheck<{ level?: string }> = checkOptions(
  'levelSink',
  { level: 'info' },
  'logger',
);
const level: string | undefined = check.o.level;
void level;
// @ts-expect-error check.format() gives a format a machine reads, never 'pretty'
const pretty: 'pretty' = check.format();
void pretty;
const target = resolveHttp(checkOptions('kitSink', {}), 'https://collector.example.com', {
  name: 'kit',
  known: [],
  format: 'native',
  contentType: 'application/x-ndjson',
  credentials: 'use headers',
});
void httpSender(target).send('{}\n');

// Internals are in neither entry.
// @ts-expect-error resolveOptions is internal
void core.resolveOptions;
// @ts-expect-error invalidOptions is internal (sinks use checkOptions from @authtrail/core/sink)
void core.invalidOptions;
// @ts-expect-error shapeOf is for sink authors: @authtrail/core/sink
void core.shapeOf;
// @ts-expect-error resolveFormat is internal (sinks use check.format())
void core.resolveFormat;
// @ts-expect-error token inspection is internal
void core.bearerToken;
