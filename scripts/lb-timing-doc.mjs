#!/usr/bin/env node
// Refresh the measured figures of docs/load-balancers.md from the load-balancer suites:
//   npm run build && node scripts/lb-timing-doc.mjs
// runs test/lb/haproxy-timeline.test.ts and test/lb/haproxy-restart.test.ts (real HAProxy),
// reads the tables they print, and rewrites the parts of the doc between the
// <!-- lb-timing:start/end --> and <!-- lb-restart:start/end --> markers. `--from <file>` reads
// a saved Jest output instead of running the tests.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const DOC = 'docs/load-balancers.md';
const from = process.argv.indexOf('--from');
const out =
  from > 0
    ? readFileSync(process.argv[from + 1], 'utf8')
    : execFileSync(
        process.execPath,
        [
          '--experimental-vm-modules',
          '--expose-gc',
          'node_modules/jest/bin/jest.js',
          'test/lb/haproxy-timeline.test.ts',
          'test/lb/haproxy-restart.test.ts',
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 },
      );

const fail = (what) => {
  console.error(`lb-timing-doc: ${what} not found in the test output (did the suites pass?)`);
  process.exit(1);
};
const start = out.indexOf('for docs/load-balancers.md:');
const end = out.indexOf('client requests failed during');
if (start < 0 || end < 0) fail('the timeline table');
const rows = out
  .slice(start, end)
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l.startsWith('| ') || l.startsWith('|---'));
const cleared = /cleared at ([\d.]+) s\)/.exec(out)?.[1] ?? fail('the clearing time');
const m =
  /client requests failed during faults and recovery: (\d+) \/ (\d+) \/ (\d+) \(httpchk \/ agent \/ failover\) of (\d+) \/ (\d+) \/ (\d+) answered; slowest ([\d.]+) s/.exec(
    out,
  ) ?? fail('the failed-request counts');
const failover =
  rows
    .find((r) => r.includes('only primary'))
    ?.split('|')[2]
    ?.trim() ?? fail('the failover row');
const restartRows = out
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l.startsWith('doc row: '))
  .map((l) => l.slice('doc row: '.length));
if (restartRows.length === 0) fail('the restart rows');

const timing = `Measured by \`test/lb/haproxy-timeline.test.ts\` on ${new Date().toISOString().slice(0, 10)} (refresh: \`npm run build &&
node scripts/lb-timing-doc.mjs\`) on a 2-core machine shared with other builds, nodesentry at its
default timing, the snippets above as written. Five nodes fail at 0 s in five ways at once, one is
drained; everything is put right at ${cleared} s. Each figure is the first time HAProxy's stats
socket showed the new state.

${rows.join('\n')}

- **The agent form is the faster one**: an explicit \`down\` applies at once, while the HTTP form
  needs \`fall\` (5) failed checks of the 503 on top of nodesentry's own confirmation.
- **Failed client requests**: ${m[1]} of ${m[4]} through the HTTP-check backend, ${m[2]} of ${m[5]} through the agent
  backend. With two or more primaries, \`retry-on\` + \`redispatch\` send a request that hit the
  refused or hung node to another one; a request that hit the hung node took up to
  \`timeout server\` (slowest: ${m[7]} s). With five of nine primaries failing at once a request
  can still draw failing nodes on all four attempts: the suite allows two such failures per
  backend (seen: none, or one 504 in about 1000 requests). A backend whose only primary fails has nowhere to
  redispatch until that primary is DOWN: ${m[3]} of its ${m[6]} requests failed, all between the fault
  and the failover to \`backup\` (${failover}), none after.
- **Wrong answers**: a node that lags, has no peers or is on the wrong chain still answers
  HTTP; the last column counts the client requests it answered before HAProxy took it out.
- The suite fails if a fault is not DOWN within 40 s, not UP again within 75 s of being put
  right, or if more than two client requests fail in a backend with two or more primaries.`;

let doc = readFileSync(DOC, 'utf8');
const put = (name, text) => {
  const re = new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(\\n<!-- ${name}:end -->)`);
  if (!re.test(doc)) fail(`the ${name} markers in ${DOC}`);
  doc = doc.replace(re, (_all, a, b) => `${a}${text}${b}`);
};
put('lb-timing', timing);
put(
  'lb-restart',
  [
    '| restart | load average (2 cores) | ports closed | agent form | HTTP form (`fall 5`, `inter 2s`) |',
    '|---|---|---|---|---|',
    ...restartRows,
  ].join('\n'),
);
writeFileSync(DOC, doc);
console.log(`${DOC}: ${rows.length - 2} timing rows, ${restartRows.length} restart rows written`);
