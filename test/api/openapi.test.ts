import request from 'supertest';
import type { App } from '../../src/api/app.js';
import { openApiDocument } from '../../src/api/openapi.js';
import { startHarness, type Harness } from '../support/api-harness.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

interface RouteLayer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: RouteLayer[] };
  rawPath?: unknown;
  slash?: boolean;
}

/**
 * Every (method, path) the live app serves: the routes of the probe fast path in front of
 * express (each answers its methods; a 405 for the others is not an operation), and the
 * express app's, read from its router stack (express 5 / router 2: `app.router.stack`; a route
 * layer has `route.path` and `route.methods`; a mounted Router has `handle.stack` and its mount
 * path in `rawPath`). Paths come back in OpenAPI form. `_all` (`router.all`, e.g. a 405
 * handler) is not an operation of its own.
 */
function servedRoutes(api: App): Set<string> {
  const out = new Set<string>();
  for (const r of api.fastRoutes) {
    for (const m of r.methods) {
      // As for express's routes: HEAD beside a GET is implied (the comparison below accepts a
      // documented HEAD on the strength of the GET).
      if (m === 'HEAD' && r.methods.includes('GET')) continue;
      out.add(`${m.toLowerCase()} ${toOpenApiPath(r.template)}`);
    }
  }
  const walk = (stack: readonly RouteLayer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const p of paths) {
          if (typeof p !== 'string')
            throw new Error(`route with a non-string path under ${prefix}: document it by hand and extend this test`);
          for (const m of Object.keys(layer.route.methods))
            if (m !== '_all') out.add(`${m} ${toOpenApiPath(prefix + p)}`);
        }
      } else if (layer.handle?.stack) {
        const mount = layer.slash || layer.rawPath === '/' ? '' : layer.rawPath;
        if (typeof mount !== 'string') throw new Error('router mounted on a non-string path: extend this test');
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk((api.express as unknown as { router: { stack: RouteLayer[] } }).router.stack, '');
  return out;
}

function toOpenApiPath(path: string): string {
  if (/[*(){}?]/.test(path)) throw new Error(`path ${path} uses a pattern OpenAPI cannot express; extend this test`);
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

type Schema = Record<string, unknown>;

function resolveRef(doc: Schema, ref: string): Schema {
  let at: unknown = doc;
  for (const part of ref.slice(2).split('/')) at = (at as Record<string, unknown>)[part];
  if (!at) throw new Error(`unresolved ${ref}`);
  return at as Schema;
}

function isType(type: string, v: unknown): boolean {
  switch (type) {
    case 'null':
      return v === null;
    case 'integer':
      return Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'array':
      return Array.isArray(v);
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    default:
      return typeof v === type;
  }
}

/** The JSON Schema subset the document uses: type, enum, const, properties, required, items, additionalProperties, anyOf, oneOf, allOf, $ref. */
function validate(doc: Schema, schema: Schema, v: unknown, at = '$'): string[] {
  if (typeof schema.$ref === 'string') return validate(doc, resolveRef(doc, schema.$ref), v, at);
  const errors: string[] = [];
  for (const s of (schema.allOf as Schema[] | undefined) ?? []) errors.push(...validate(doc, s, v, at));
  if (schema.anyOf && !(schema.anyOf as Schema[]).some((s) => validate(doc, s, v, at).length === 0))
    errors.push(`${at}: matches none of anyOf (${JSON.stringify(v)?.slice(0, 80)})`);
  if (schema.oneOf) {
    const matching = (schema.oneOf as Schema[]).filter((s) => validate(doc, s, v, at).length === 0).length;
    if (matching !== 1) errors.push(`${at}: matches ${matching} of oneOf (${JSON.stringify(v)?.slice(0, 80)})`);
  }
  if ('const' in schema && v !== schema.const) errors.push(`${at}: not ${JSON.stringify(schema.const)}`);
  if (schema.enum && !(schema.enum as unknown[]).includes(v)) errors.push(`${at}: ${JSON.stringify(v)} not in enum`);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((t) => isType(t, v)))
      return [...errors, `${at}: ${JSON.stringify(v)?.slice(0, 80)} is not ${types.join('|')}`];
  }
  if (isType('object', v)) {
    const o = v as Record<string, unknown>;
    for (const k of (schema.required as string[] | undefined) ?? []) if (!(k in o)) errors.push(`${at}: missing ${k}`);
    const props = (schema.properties as Record<string, Schema> | undefined) ?? {};
    for (const [k, x] of Object.entries(o)) {
      if (props[k]) errors.push(...validate(doc, props[k], x, `${at}.${k}`));
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object')
        errors.push(...validate(doc, schema.additionalProperties as Schema, x, `${at}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${at}: ${k} is not documented`);
    }
  }
  if (Array.isArray(v) && schema.items)
    v.forEach((x, i) => errors.push(...validate(doc, schema.items as Schema, x, `${at}[${i}]`)));
  return errors;
}

/** The documented schema of one answer, by path template, method, status and content type. */
function responseSchema(doc: Schema, template: string, method: string, status: number, type: string): Schema {
  const op = (doc.paths as Record<string, Record<string, { responses: Record<string, Schema> }>>)[template]?.[method];
  if (!op) throw new Error(`${method} ${template} is not documented`);
  let r = op.responses[String(status)];
  if (!r) throw new Error(`${method} ${template} does not document status ${status}`);
  if (typeof r.$ref === 'string') r = resolveRef(doc, r.$ref);
  const content = (r.content as Record<string, { schema: Schema }> | undefined)?.[type];
  if (!content) throw new Error(`${method} ${template} ${status} does not document ${type}`);
  return content.schema;
}

function documentedRoutes(doc: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const m of METHODS) if (item[m]) out.add(`${m} ${path}`);
  }
  return out;
}

describe('GET /openapi.json', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-a', kind: 'bsc' },
        { id: 'dfi-a', kind: 'defid' },
      ],
      env: { NODESENTRY_API_KEY: 'key-0123456789', NODESENTRY_ADMIN_TOKEN: 'admin-token-0123456789' },
    });
  });
  afterAll(() => h.close());

  it('answers the way it documents: every status and body below validates against its schema', async () => {
    await h.sweep(3);
    const doc = openApiDocument() as Schema;
    const key = { 'x-api-key': 'key-0123456789' };
    const adm = { authorization: 'Bearer admin-token-0123456789' };
    const cases: Array<
      [
        method: 'get' | 'post' | 'delete',
        path: string,
        template: string,
        headers: Record<string, string>,
        body?: object | object[],
      ]
    > = [
      ['get', '/livez', '/livez', {}],
      ['get', '/readyz', '/readyz', {}],
      ['get', '/v1/nodes?limit=1', '/v1/nodes', key],
      ['get', '/v1/nodes?offset=1', '/v1/nodes', key],
      ['get', '/v1/nodes?limit=0', '/v1/nodes', key],
      ['get', '/v1/nodes', '/v1/nodes', {}],
      ['get', '/v1/nodes', '/v1/nodes', { 'x-api-key': 'wrong' }],
      ['get', '/v1/nodes/bsc-a', '/v1/nodes/{id}', key],
      ['get', '/v1/nodes/dfi-a', '/v1/nodes/{id}', key],
      ['get', '/v1/nodes/nope', '/v1/nodes/{id}', key],
      ['get', '/v1/nodes/bsc-a/peers', '/v1/nodes/{id}/peers', key],
      ['get', '/v1/nodes/dfi-a/peers', '/v1/nodes/{id}/peers', key],
      ['get', '/v1/nodes/bsc-a/history', '/v1/nodes/{id}/history', key],
      ['get', '/v1/nodes/dfi-a/history', '/v1/nodes/{id}/history', key],
      ['get', '/v1/nodes/bsc-a/transitions', '/v1/nodes/{id}/transitions', key],
      ['get', '/v1/nodes/bsc-a/transitions?limit=99', '/v1/nodes/{id}/transitions', key],
      ['get', '/v1/nodes/nope/transitions', '/v1/nodes/{id}/transitions', key],
      ['get', '/v1/transitions', '/v1/transitions', key],
      ['get', '/v1/transitions?limit=1', '/v1/transitions', key],
      ['get', '/v1/transitions?chain=bsc&state=healthy', '/v1/transitions', key],
      ['get', '/v1/transitions?state=sleepy', '/v1/transitions', key],
      ['get', '/v1/transitions', '/v1/transitions', {}],
      ['get', '/v1/chains', '/v1/chains', key],
      ['get', '/v1/chains/bsc/ranking', '/v1/chains/{chain}/ranking', key],
      ['get', '/v1/chains/bsc/best', '/v1/chains/{chain}/best', key],
      ['get', '/v1/chains/nochain/best', '/v1/chains/{chain}/best', key],
      ['get', '/probe/nodes/bsc-a', '/probe/nodes/{id}', {}],
      ['get', '/probe/nodes/bsc-a?degraded=7', '/probe/nodes/{id}', {}],
      ['get', '/probe/chains/defichain', '/probe/chains/{chain}', {}],
      ['get', '/probe/host', '/probe/host', { host: 'bsc-a:8080' }],
      ['post', '/v1/nodes/dfi-a/drain', '/v1/nodes/{id}/drain', adm, { reason: 'x' }],
      ['get', '/v1/nodes/dfi-a', '/v1/nodes/{id}', key],
      ['get', '/probe/nodes/dfi-a', '/probe/nodes/{id}', {}],
      ['delete', '/v1/nodes/dfi-a/drain', '/v1/nodes/{id}/drain', adm],
      ['post', '/v1/nodes/dfi-a/network', '/v1/nodes/{id}/network', adm, { active: true }],
      ['post', '/v1/nodes/bsc-a/network', '/v1/nodes/{id}/network', adm, { active: true }],
      ['post', '/v1/nodes/dfi-a/drain', '/v1/nodes/{id}/drain', {}],
      ['post', '/v1/admin/reload', '/v1/admin/reload', adm],
      ['get', '/v1/admin/audit', '/v1/admin/audit', adm],
      ['post', '/rpc/bsc', '/rpc/{chain}', key, { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }],
      [
        'post',
        '/rpc/bsc',
        '/rpc/{chain}',
        key,
        [
          { jsonrpc: '2.0', id: 1, method: 'eth_chainId' },
          { jsonrpc: '2.0', id: 2, method: 'admin_peers' },
        ],
      ],
      ['post', '/rpc/bsc', '/rpc/{chain}', key, { jsonrpc: '2.0', id: 1, method: 'admin_peers', params: [] }],
      ['post', '/rpc/bsc', '/rpc/{chain}', {}, { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }],
      ['post', '/rpc/nochain', '/rpc/{chain}', key, { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }],
      [
        'post',
        '/rpc/defichain/dfi-a',
        '/rpc/{chain}/{node}',
        key,
        { jsonrpc: '1.0', id: 1, method: 'getblockcount', params: [] },
      ],
      [
        'post',
        '/rpc/defichain/dfi-a',
        '/rpc/{chain}/{node}',
        key,
        { jsonrpc: '1.0', id: 1, method: 'nosuchmethod', params: [] },
      ],
      [
        'post',
        '/rpc/defichain/bsc-a',
        '/rpc/{chain}/{node}',
        key,
        { jsonrpc: '1.0', id: 1, method: 'getblockcount', params: [] },
      ],
    ];
    const failures: string[] = [];
    for (const [method, path, template, headers, body] of cases) {
      const req = request(h.app)[method](path).set(headers);
      const r = await (body ? req.send(body) : req);
      const type = String(r.headers['content-type']).split(';')[0]!;
      try {
        const errors = validate(doc, responseSchema(doc, template, method, r.status, type), JSON.parse(r.text));
        failures.push(...errors.map((e) => `${method} ${path} ${r.status}: ${e}`));
      } catch (err) {
        failures.push(`${method} ${path} ${r.status}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('is served without credentials as an OpenAPI 3.1 document', async () => {
    const r = await request(h.app).get('/openapi.json').expect(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(r.body.openapi).toBe('3.1.0');
    expect(r.body).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  });

  it('documents every route the app serves, and serves every route it documents', () => {
    const served = servedRoutes(h.api);
    const documented = documentedRoutes(openApiDocument());
    // The walk must see the app's routes, or the comparison below proves nothing.
    for (const known of [
      'get /v1/nodes',
      'get /v1/nodes/{id}',
      'post /v1/nodes/{id}/drain',
      'get /v1/events',
      'get /livez',
      'get /openapi.json',
    ])
      expect(served).toContain(known);
    const undocumented = [...served].filter((r) => !documented.has(r)).sort();
    // Express answers HEAD for every GET route, so a documented HEAD needs only the GET.
    const unserved = [...documented]
      .filter((r) => !served.has(r) && !(r.startsWith('head ') && served.has(`get ${r.slice(5)}`)))
      .sort();
    expect({ undocumented, unserved }).toEqual({ undocumented: [], unserved: [] });
  });

  it('is internally consistent: every $ref resolves, every path parameter is declared, operation ids are unique', () => {
    const doc = openApiDocument() as Record<string, unknown>;
    const refs: string[] = [];
    const collect = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(collect);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref' && typeof x === 'string') refs.push(x);
          else collect(x);
        }
      }
    };
    collect(doc);
    expect(refs.length).toBeGreaterThan(10);
    for (const r of refs) {
      expect(r.startsWith('#/')).toBe(true);
      let at: unknown = doc;
      for (const part of r.slice(2).split('/')) at = (at as Record<string, unknown> | undefined)?.[part];
      if (at === undefined) throw new Error(`unresolved $ref ${r}`);
    }
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const m of METHODS) {
        const op = item[m];
        if (!op) continue;
        const id = op.operationId as string;
        expect(ids.has(id)).toBe(false);
        ids.add(id);
        expect(Object.keys(op.responses as object).length).toBeGreaterThan(0);
        const declared = (
          (op.parameters as Array<{ in: string; name: string; required?: boolean }> | undefined) ?? []
        ).filter((p) => p.in === 'path');
        expect(declared.map((p) => p.name).sort()).toEqual([...names].sort());
        for (const p of declared) expect(p.required).toBe(true);
      }
    }
  });

  it('declares the API key and admin bearer schemes, and every error response is problem+json', () => {
    const doc = openApiDocument() as {
      components: {
        securitySchemes: Record<string, unknown>;
        responses: Record<string, { content: Record<string, unknown> }>;
      };
    };
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['adminToken', 'apiKey', 'apiKeyBearer']);
    for (const r of Object.values(doc.components.responses))
      expect(Object.keys(r.content)).toEqual(['application/problem+json']);
  });
});
