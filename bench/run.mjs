// npm run bench: side-by-side throughput of each configuration against the bare framework.
// Every configuration runs as its own server process on 127.0.0.1; autocannon drives it from this
// process. Rounds are interleaved (A B C, A B C ...) after a warm-up, and each round's result is
// compared with the bare framework's in the same round.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const rounds = Number(args.get('rounds') ?? 3);
const duration = Number(args.get('duration') ?? 5);
const connections = Number(args.get('connections') ?? 50);
const configs = (args.get('configs') ?? 'bare,noop,file').split(',');
const framework = args.get('framework') ?? 'express';

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const token = `${b64({ alg: 'RS256', typ: 'at+jwt', kid: 'k1' })}.${b64({
  iss: 'https://op.example',
  sub: 'user-1234',
  aud: 'https://api.example',
  client_id: 'bench-client',
  scope: 'read:items write:items',
  exp: Math.floor(Date.now() / 1000) + 3600,
  iat: Math.floor(Date.now() / 1000),
})}.${'s'.repeat(342)}`;

function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // utime + stime, in clock ticks of 10 ms
}
const rssMb = (pid) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

async function measure(config, seconds) {
  const child = spawn(process.execPath, ['bench/server.mjs', framework, config], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve) =>
    createInterface({ input: child.stdout }).once('line', resolve),
  );
  const cpu0 = cpuMicros(child.pid);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/api/items`,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${token}` },
  });
  const cpu = cpuMicros(child.pid) - cpu0;
  const rss = rssMb(child.pid);
  child.kill();
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    cpuPerReq: cpu / result.requests.total,
    rss,
    errors: result.errors + result.non2xx,
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
process.stderr.write(`warming up ...\n`);
for (const c of configs) await measure(c, 1);
const results = Object.fromEntries(configs.map((c) => [c, []]));
for (let r = 1; r <= rounds; r++) {
  for (const c of configs) {
    const m = await measure(c, duration);
    results[c].push(m);
    process.stderr.write(`round ${r} ${c}: ${Math.round(m.rps)} req/s p99 ${m.p99} ms\n`);
  }
}

const bare = results[configs[0]];
console.log(
  `\n${framework}, ${connections} connections, ${duration} s x ${rounds} interleaved rounds, ${cpus().length} cores (${cpus()[0].model}), Node ${process.version}\n`,
);
console.log(
  '| config | median req/s | median ratio to bare | p99 ms (median) | server CPU µs/req | RSS MB | errors |',
);
console.log('|---|---|---|---|---|---|---|');
for (const c of configs) {
  const rs = results[c];
  const ratios = rs.map((m, i) => m.rps / bare[i].rps);
  console.log(
    `| ${c} | ${Math.round(median(rs.map((m) => m.rps)))} | ${median(ratios).toFixed(3)} | ${median(rs.map((m) => m.p99))} | ${median(rs.map((m) => m.cpuPerReq)).toFixed(1)} | ${Math.round(median(rs.map((m) => m.rss)))} | ${rs.reduce((n, m) => n + m.errors, 0)} |`,
  );
}
