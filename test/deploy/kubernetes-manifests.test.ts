import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../src/config/load-config.js';
import { loadSettings, SETTING_VARIABLES } from '../../src/config/settings.js';

// No cluster here: the manifests are validated offline. Each object against the Kubernetes
// OpenAPI schema (kubernetes-models; ServiceMonitor: the prometheus-operator CRD schema), then
// the wiring a schema cannot see: selectors match pod labels, ports by name exist, probes hit
// the service's own endpoints, the ConfigMap mounts where NODESENTRY_CONFIG points and holds a
// nodes file nodesentry accepts, and every environment variable is one nodesentry reads.

const DIR = resolve('deploy/kubernetes');
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string> } & Record<string, any>;

const kustomization = parseAllDocuments(readFileSync(resolve(DIR, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as { namespace: string; resources: string[] };
const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const objects: Obj[] = files.flatMap((f) =>
  parseAllDocuments(readFileSync(resolve(DIR, f), 'utf8')).map((d) => {
    if (d.errors.length > 0) throw new Error(`${f}: ${d.errors[0]!.message}`);
    return d.toJS() as Obj;
  }),
);
const of = (kind: string) => objects.filter((o) => o.kind === kind);
const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined) => Object.entries(selector).every(([k, v]) => labels?.[k] === v);

const SCHEMAS: Record<string, new (o: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

describe('deploy/kubernetes', () => {
  it('lists every manifest in kustomization.yaml, all in its namespace', () => {
    expect([...kustomization.resources].sort()).toEqual([...files].sort());
    for (const o of objects) if (o.kind !== 'Namespace') expect({ name: o.metadata.name, ns: o.metadata.namespace }).toEqual({ name: o.metadata.name, ns: kustomization.namespace });
  });

  it('has a worker and an API Deployment, their Services, a PDB for each, a ServiceMonitor and the nodes ConfigMap', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      ['ConfigMap/nodesentry-nodes', 'Deployment/nodesentry-api', 'Deployment/nodesentry-worker', 'Namespace/nodesentry', 'PodDisruptionBudget/nodesentry-api', 'PodDisruptionBudget/nodesentry-worker', 'PrometheusRule/nodesentry', 'Service/nodesentry', 'Service/nodesentry-worker', 'ServiceMonitor/nodesentry'].sort(),
    );
  });

  it('when each object is checked against its schema, then it is valid', () => {
    for (const o of objects) {
      const Model = SCHEMAS[`${o.apiVersion}/${o.kind}`];
      expect({ object: `${o.kind}/${o.metadata.name}`, schema: Model !== undefined }).toEqual({ object: `${o.kind}/${o.metadata.name}`, schema: true });
      expect(() => new Model!(o as never).validate()).not.toThrow();
    }
    // The schema check can fail: a wrong type is caught.
    const broken = structuredClone(of('Deployment')[0]!);
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    expect(() => new Deployment(broken as never).validate()).toThrow(/containerPort/);
  });

  it('runs each role with separate liveness (/livez) and readiness (/readyz) probes on a declared port, selectors matching the pods', () => {
    const roles = new Map<string, Obj>();
    for (const d of of('Deployment')) {
      const pod = d.spec.template;
      expect(matches(d.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
      const [c] = pod.spec.containers;
      const env = new Map<string, any>(c.env.map((e: any) => [e.name, e]));
      roles.set(env.get('NODESENTRY_ROLE').value, d);
      const ports = new Set<string>(c.ports.map((p: any) => p.name));
      expect(c.livenessProbe.httpGet.path).toBe('/livez');
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) expect(ports.has(probe.httpGet.port)).toBe(true);
      expect(String(c.ports.find((p: any) => p.name === 'http').containerPort)).toBe(env.get('PORT').value);
      // Every variable is one nodesentry reads, or one the nodes file names (auth.env).
      const nodesFile = of('ConfigMap')[0]!.data!['nodes.yaml']!;
      const known = new Set<string>([...Object.values(SETTING_VARIABLES), ...[...nodesFile.matchAll(/env: ([A-Z0-9_]+)/g)].map((m) => m[1]!)]);
      for (const name of env.keys()) expect({ name, known: known.has(name) }).toEqual({ name, known: true });
      // Secrets come from a Secret, never inline.
      for (const name of ['REDIS_URL', 'NODESENTRY_API_KEY', 'NODESENTRY_ADMIN_TOKEN']) if (env.has(name)) expect(env.get(name).valueFrom.secretKeyRef).toBeDefined();
      // The settings as the pod would have them load (secrets stubbed).
      const podEnv = Object.fromEntries([...env.values()].map((e: any) => [e.name, e.value ?? (e.name === 'REDIS_URL' ? 'redis://redis:6379' : e.name === 'NODESENTRY_ADMIN_TOKEN' ? 'admin-token-0123456789' : 'api-key-0123456789')]));
      expect(() => loadSettings(podEnv)).not.toThrow();
    }
    expect([...roles.keys()].sort()).toEqual(['api', 'worker']);
  });

  it('mounts the ConfigMap where NODESENTRY_CONFIG points, and its nodes file is one nodesentry accepts', () => {
    const cm = of('ConfigMap')[0]!;
    for (const d of of('Deployment')) {
      const spec = d.spec.template.spec;
      const c = spec.containers[0];
      const path: string = c.env.find((e: any) => e.name === 'NODESENTRY_CONFIG').value;
      const mount = c.volumeMounts.find((m: any) => path.startsWith(`${m.mountPath}/`));
      expect(mount).toBeDefined();
      const volume = spec.volumes.find((v: any) => v.name === mount.name);
      expect(volume.configMap.name).toBe(cm.metadata.name);
      const item = volume.configMap.items.find((i: any) => i.path === path.slice(mount.mountPath.length + 1));
      expect(item).toBeDefined();
      expect(cm.data![item.key]).toBeDefined();
    }
    const config = parseConfig(cm.data!['nodes.yaml']!, 'nodes.yaml', { DEFID_RPC_CREDENTIALS: 'user:password' });
    expect(config.nodes.map((n) => n.id)).toEqual(['bsc-1', 'bsc-2', 'defi-1']);
  });

  it('carries the same alert rules as deploy/prometheus/alerts.yml in its PrometheusRule', () => {
    const rules = parse(readFileSync(resolve('deploy/prometheus/alerts.yml'), 'utf8')) as { groups: unknown[] };
    expect(of('PrometheusRule')[0]!.spec.groups).toEqual(rules.groups);
  });

  it('routes each Service to its role\'s pods by a declared port, keeps each role within a PDB, and the ServiceMonitor scrapes both', () => {
    const pods = of('Deployment').map((d) => d.spec.template);
    for (const s of of('Service')) {
      const targets = pods.filter((p) => matches(s.spec.selector, p.metadata.labels));
      expect({ service: s.metadata.name, pods: targets.length }).toEqual({ service: s.metadata.name, pods: 1 });
      for (const port of s.spec.ports) expect(targets[0]!.spec.containers[0].ports.map((p: any) => p.name)).toContain(port.targetPort);
    }
    for (const pdb of of('PodDisruptionBudget')) {
      const d = of('Deployment').find((x) => matches(pdb.spec.selector.matchLabels, x.spec.template.metadata.labels));
      expect(d).toBeDefined();
      // A PDB the Deployment can satisfy, or node drains would block forever.
      expect(pdb.spec.minAvailable).toBeLessThan(d!.spec.replicas);
    }
    const sm = of('ServiceMonitor')[0]!;
    const scraped = of('Service').filter((s) => matches(sm.spec.selector.matchLabels, s.metadata.labels));
    expect(scraped.map((s) => s.metadata.name).sort()).toEqual(['nodesentry', 'nodesentry-worker']);
    for (const e of sm.spec.endpoints) {
      expect(e.path).toBe('/metrics');
      for (const s of scraped) expect(s.spec.ports.map((p: any) => p.name)).toContain(e.port);
    }
  });
});
