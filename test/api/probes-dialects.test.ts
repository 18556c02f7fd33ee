import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { startHarness, type Harness } from '../support/api-harness.js';

const KEY = 'dialect-key-0123456789';

/**
 * Each snippet of docs/load-balancers.md, tried with the request that load balancer sends,
 * written byte for byte on a socket to a listening nodesentry, and judged by the rule that
 * load balancer applies to the status. (The HAProxy agent check: test/api/agent-check.test.ts.)
 */
describe('load balancers, as they ask', () => {
  let h: Harness;
  let server: Server;
  let port: number;
  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-fra-1', kind: 'bsc' },
        // 4 peers: degraded (peers_low).
        { id: 'bsc-fra-2', kind: 'bsc', peers: { inbound: 2, outbound: 2 } },
        { id: 'bsc-sgp-1', kind: 'bsc', fault: { type: 'unauthorized' } },
        { id: 'bsc-ams-1', kind: 'bsc' },
      ],
      env: { NODESENTRY_API_KEY: KEY },
    });
    await h.sweep();
    const drain = { nodeId: 'bsc-ams-1', by: 'test', at: Date.now() };
    await h.service.store.setDrain('bsc-ams-1', drain);
    h.service.view.setDrain('bsc-ams-1', drain);
    // /readyz waits for the poller's first round after start(); one more sweep completes it.
    await h.service.poller!.start();
    await h.sweep(1);
    expect(h.service.ready.ready).toBe(true);
    server = createServer(h.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await h.close();
  });

  /** Send raw bytes, read until the server closes; the status code and the response. */
  const send = (text: string): Promise<{ status: number; head: string; body: string }> =>
    new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => s.write(text));
      let out = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => (out += d));
      s.on('end', () => {
        const [head = '', body = ''] = out.split('\r\n\r\n');
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1]), head: head.toLowerCase(), body });
      });
      s.on('error', reject);
    });

  const ok2xx3xx = (status: number): boolean => status >= 200 && status < 400;
  const nodes = [
    ['bsc-fra-1', 'healthy'],
    ['bsc-fra-2', 'degraded'],
    ['bsc-sgp-1', 'unhealthy'],
    ['bsc-ams-1', 'maintenance'],
  ] as const;

  describe('HAProxy', () => {
    it.each(nodes)(
      'option httpchk OPTIONS /probe/nodes/%s (HTTP/1.0, no Host): up only while usable',
      async (id, state) => {
        const r = await send(`OPTIONS /probe/nodes/${id} HTTP/1.0\r\n\r\n`);
        expect(ok2xx3xx(r.status)).toBe(state === 'healthy' || state === 'degraded');
        expect(r.head).toContain(`x-nodesentry-state: ${state}`);
        // HTTP/1.0 without keep-alive: closed after the answer, as HAProxy expects.
        expect(r.head).toContain('connection: close');
      },
    );

    it.each(nodes)(
      'http-check send meth GET uri-lf /probe/nodes/%%[srv_name]?drained=404 + disable-on-404, for %s',
      async (id, state) => {
        // What HAProxy 2.2+ writes for that `http-check send` line: it adds Connection and Content-Length.
        const r = await send(
          `GET /probe/nodes/${id}?drained=404 HTTP/1.1\r\nhost: nodesentry\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
        );
        const expected = { healthy: 'up', degraded: 'up', unhealthy: 'down', maintenance: 'nolb' }[state];
        const seen = r.status === 404 ? 'nolb' : ok2xx3xx(r.status) ? 'up' : 'down';
        expect(seen).toBe(expected);
      },
    );

    it('when the check carries the API key (protected probes), it passes through', async () => {
      const r = await send(
        `GET /probe/nodes/bsc-fra-1 HTTP/1.1\r\nhost: nodesentry\r\nx-api-key: ${KEY}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
      );
      expect(r.status).toBe(200);
    });
  });

  describe('nginx', () => {
    it('the nginx Plus API sync and the open-source upstream render read id, usable, state, score, url and tier from the ranking', async () => {
      const r = await send(
        `GET /v1/chains/bsc/ranking HTTP/1.1\r\nHost: nodesentry:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nX-API-Key: ${KEY}\r\nConnection: close\r\n\r\n`,
      );
      expect(r.status).toBe(200);
      const ranking = JSON.parse(r.body) as {
        nodes: Array<{
          nodeId: string;
          usable: boolean;
          state: string;
          score: { total: number };
          url: string;
          tier: number;
        }>;
      };
      const byId = new Map(ranking.nodes.map((n) => [n.nodeId, n]));
      for (const [id, state] of nodes) {
        const n = byId.get(id)!;
        expect(n.state).toBe(state);
        expect(n.usable).toBe(state === 'healthy' || state === 'degraded');
        expect(n.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
        expect(typeof n.score.total).toBe('number');
        expect(typeof n.tier).toBe('number');
      }
    });

    it('nginx Plus health_check uri=/readyz in front of nodesentry replicas (HTTP/1.0, proxy defaults)', async () => {
      const r = await send('GET /readyz HTTP/1.0\r\nHost: nodesentry\r\nConnection: close\r\n\r\n');
      expect(ok2xx3xx(r.status)).toBe(true);
    });
  });

  describe('Kubernetes (200-399 = success)', () => {
    const kube = (path: string, host: string): string =>
      `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\nConnection: close\r\n\r\n`;

    it('nodesentry liveness /livez and readiness /readyz', async () => {
      expect((await send(kube('/livez', '10.1.2.3:8080'))).status).toBe(200);
      expect((await send(kube('/readyz', '10.1.2.3:8080'))).status).toBe(200);
    });

    it.each(nodes)('a node pod readiness probe through nodesentry, for %s', async (id, state) => {
      const r = await send(kube(`/probe/nodes/${id}`, 'nodesentry.monitoring.svc.cluster.local:8080'));
      expect(ok2xx3xx(r.status)).toBe(state === 'healthy' || state === 'degraded');
    });
  });

  describe('AWS', () => {
    const elb = (path: string): string =>
      `GET ${path} HTTP/1.1\r\nHost: 10.0.1.5:8080\r\nConnection: close\r\nUser-Agent: ELB-HealthChecker/2.0\r\nAccept-Encoding: gzip, compressed\r\n\r\n`;

    it.each(nodes)('ALB target group (matcher 200) and NLB (200-399), for %s', async (id, state) => {
      const r = await send(elb(`/probe/nodes/${id}`));
      const usable = state === 'healthy' || state === 'degraded';
      expect(r.status === 200).toBe(usable);
      expect(ok2xx3xx(r.status)).toBe(usable);
    });
  });

  describe('Consul (2xx passing, 429 warning, else critical)', () => {
    it.each(nodes)('http check with ?degraded=429, for %s', async (id, state) => {
      const r = await send(
        `GET /probe/nodes/${id}?degraded=429 HTTP/1.1\r\nHost: nodesentry.service.consul:8080\r\nUser-Agent: Consul Health Check\r\nAccept: text/plain, text/*, */*\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n`,
      );
      const consul = r.status >= 200 && r.status < 300 ? 'passing' : r.status === 429 ? 'warning' : 'critical';
      expect(consul).toBe(
        { healthy: 'passing', degraded: 'warning', unhealthy: 'critical', maintenance: 'critical' }[state],
      );
      // Consul keeps 4 KB of output; the body is a line.
      expect(Buffer.byteLength(r.body)).toBeLessThan(512);
    });
  });

  describe('Envoy (200 healthy, x-envoy-degraded marks degraded)', () => {
    it.each(nodes)('path /probe/host with health_check_config.hostname = %s', async (id, state) => {
      const r = await send(
        `GET /probe/host HTTP/1.1\r\nhost: ${id}\r\nuser-agent: Envoy/HC\r\nconnection: close\r\n\r\n`,
      );
      const envoy = r.status !== 200 ? 'unhealthy' : r.head.includes('x-envoy-degraded: true') ? 'degraded' : 'healthy';
      expect(envoy).toBe(
        { healthy: 'healthy', degraded: 'degraded', unhealthy: 'unhealthy', maintenance: 'unhealthy' }[state],
      );
    });

    it('a Host with a port names the same node; an unknown one is a 404 problem; HTTP/1.0 without Host is a 400', async () => {
      expect((await send('GET /probe/host HTTP/1.1\r\nhost: bsc-fra-1:8080\r\nconnection: close\r\n\r\n')).status).toBe(
        200,
      );
      const unknown = await send('GET /probe/host HTTP/1.1\r\nhost: 10.0.0.9:8080\r\nconnection: close\r\n\r\n');
      expect(unknown.status).toBe(404);
      expect(unknown.head).toContain('application/problem+json');
      expect((await send('GET /probe/host HTTP/1.0\r\n\r\n')).status).toBe(400);
    });
  });
});
