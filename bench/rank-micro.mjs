// A chain's ranking in the judge (HealthJudge.chainFacts): CPU per ranking of N nodes of one
// chain (a tenth of them tier 1), a fraction of them judged again between two rankings (a 5 s
// interval ranked each second: a fifth), for the built dist given (run it on a build of main
// and on this tree's, one after the other):
//   node bench/rank-micro.mjs <dist dir> [nodes] [fraction]
import { resolve } from 'node:path';
const [dir, nArg = '3000', fracArg = '0.2'] = process.argv.slice(2);
const N = Number(nArg),
  FRAC = Number(fracArg);
const { BUILTIN_CHAINS } = await import(resolve(dir, 'chains/chain-spec.js'));
const { DEFAULT_HEALTH_POLICY } = await import(resolve(dir, 'health/policy.js'));
const { HealthJudge } = await import(resolve(dir, 'polling/health-judge.js'));
const { MemoryStore } = await import(resolve(dir, 'store/memory-store.js'));
const { FleetView } = await import(resolve(dir, 'view/fleet-view.js'));
const BSC = BUILTIN_CHAINS.bsc;
const nodes = new Map();
for (let i = 0; i < N; i++) {
  const id = `bsc-${String(i).padStart(5, '0')}`;
  nodes.set(id, {
    id,
    chain: BSC,
    url: `http://127.0.0.1:1/${id}`,
    tags: [],
    tier: i % 10 === 0 ? 1 : 0,
    intervalMs: 5000,
    timeoutMs: 2000,
  });
}
const ids = [...nodes.keys()];
const view = new FleetView({ store: new MemoryStore() });
const judge = new HealthJudge({ view, policy: DEFAULT_HEALTH_POLICY, replica: 'r', nodes: () => nodes });
let now = 1_796_000_000_000;
let h = 68_000_000;
const sample = (id, at, i) => ({
  nodeId: id,
  chain: 'bsc',
  family: 'evm',
  observedAt: at,
  latencyMs: 5 + ((i * 37) % 200) / 3,
  ok: true,
  height: h,
  peers: { total: 30, source: 'net_peerCount' },
  syncing: false,
  chainId: 56,
  missingMethods: [],
});
let k = 0;
const judgeSome = (count) => {
  for (let j = 0; j < count; j++) {
    const id = ids[k++ % N];
    view.ingest([judge.judge(nodes.get(id), sample(id, now, k), now).record]);
  }
};
for (let r = 0; r < 4; r++) {
  judgeSome(N);
  now += 1001;
  h++;
  judge.chainFacts(now);
}
const reps = 60;
let us = 0,
  cnt = 0;
for (let r = 0; r < reps; r++) {
  judgeSome(Math.round(N * FRAC));
  now += 1001;
  h++;
  const t = process.cpuUsage();
  judge.chainFacts(now);
  const u = process.cpuUsage(t);
  if (r >= 10) {
    us += u.user + u.system;
    cnt++;
  }
}
console.log(
  `${dir}: ${N} nodes, ${FRAC * 100}% re-judged per ranking: ${(us / cnt / 1000).toFixed(2)} ms per chainFacts (${(us / cnt / N).toFixed(2)} µs per node)`,
);
