import request from 'supertest';
import type { z } from 'zod';
import { openApiDocument } from '../../src/api/openapi.js';
import { COMPONENTS, type ComponentName } from '../../src/api/schemas/components.js';
import { startHarness, type Harness } from '../support/api-harness.js';

type Json = Record<string, unknown>;
type Operation = { responses: Record<string, Json> };

/** The component names a documented answer's schema refers to (`$ref`, or each part of an `allOf`). */
function componentsOf(schema: Json | undefined): ComponentName[] {
  if (!schema) return [];
  if (typeof schema.$ref === 'string') return [schema.$ref.replace('#/components/schemas/', '') as ComponentName];
  return ((schema.allOf as Json[] | undefined) ?? []).flatMap(componentsOf);
}

function documentedSchema(doc: Json, template: string, method: string, status: number, type: string): Json | undefined {
  const op = (doc.paths as Record<string, Record<string, Operation>>)[template]?.[method];
  let r = op?.responses[String(status)];
  if (r && typeof r.$ref === 'string')
    r = (doc.components as { responses: Record<string, Json> }).responses[r.$ref.split('/').pop()!];
  return (r?.content as Record<string, { schema: Json }> | undefined)?.[type]?.schema;
}

/**
 * Real answers of the app (simulated nodes, the in-process store) parsed with the zod schemas the
 * document is generated from. The schemas are strict where the document says
 * `additionalProperties: false`, so a member added to an answer but not to its schema fails here,
 * as does a member renamed, retyped or gone.
 */
describe('the answers of every documented route match the zod schemas the document is generated from', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      specs: [
        { id: 'bsc-a', kind: 'bsc' },
        { id: 'bsc-b', kind: 'bsc' },
        { id: 'dfi-a', kind: 'defid' },
      ],
      env: { NODESENTRY_API_KEY: 'key-0123456789', NODESENTRY_ADMIN_TOKEN: 'admin-token-0123456789' },
      // dfi-a's peers answer with its list (the not-yet-collected answer: peer-lists-phased.test.ts).
      poller: { phasePeerDetails: false },
    });
    await h.sweep(3);
  });
  afterAll(() => h.close());

  it('when each route is called, then its answer parses with the schema documented for its status', async () => {
    const doc = openApiDocument();
    const key = { 'x-api-key': 'key-0123456789' };
    const adm = { authorization: 'Bearer admin-token-0123456789' };
    const cases: Array<
      [
        method: 'get' | 'post' | 'delete',
        path: string,
        template: string,
        headers: Record<string, string>,
        body?: object,
      ]
    > = [
      ['get', '/livez', '/livez', {}],
      ['get', '/readyz', '/readyz', {}],
      ['get', '/probe/nodes/bsc-a', '/probe/nodes/{id}', {}],
      ['get', '/probe/host', '/probe/host', { host: 'dfi-a' }],
      ['get', '/probe/chains/bsc', '/probe/chains/{chain}', {}],
      ['get', '/v1/chains', '/v1/chains', key],
      ['get', '/v1/chains/bsc/ranking', '/v1/chains/{chain}/ranking', key],
      ['get', '/v1/chains/bsc/best?top=2', '/v1/chains/{chain}/best', key],
      ['get', '/v1/nodes?limit=2', '/v1/nodes', key],
      ['get', '/v1/nodes/bsc-a', '/v1/nodes/{id}', key],
      ['get', '/v1/nodes/dfi-a', '/v1/nodes/{id}', key],
      ['get', '/v1/nodes/bsc-a/peers', '/v1/nodes/{id}/peers', key],
      ['get', '/v1/nodes/dfi-a/peers', '/v1/nodes/{id}/peers', key],
      ['get', '/v1/nodes/dfi-a/history', '/v1/nodes/{id}/history', key],
      ['get', '/v1/nodes/bsc-a/transitions', '/v1/nodes/{id}/transitions', key],
      ['get', '/v1/transitions', '/v1/transitions', key],
      ['post', '/v1/nodes/bsc-b/drain', '/v1/nodes/{id}/drain', adm, { reason: 'kernel upgrade' }],
      ['get', '/v1/nodes/bsc-b', '/v1/nodes/{id}', key],
      ['delete', '/v1/nodes/bsc-b/drain', '/v1/nodes/{id}/drain', adm],
      ['post', '/v1/nodes/dfi-a/network', '/v1/nodes/{id}/network', adm, { active: true }],
      ['post', '/v1/admin/reload', '/v1/admin/reload', adm],
      ['get', '/v1/admin/audit', '/v1/admin/audit', adm],
      ['get', '/v1/nodes?stat=healthy', '/v1/nodes', key],
      ['get', '/v1/nodes/nope', '/v1/nodes/{id}', key],
      ['get', '/v1/nodes', '/v1/nodes', {}],
    ];
    const failures: string[] = [];
    const answered = new Set<string>();
    for (const [method, path, template, headers, body] of cases) {
      const req = request(h.app)[method](path).set(headers);
      const r = await (body ? req.send(body) : req);
      const type = String(r.headers['content-type']).split(';')[0]!;
      const names = componentsOf(documentedSchema(doc, template, method, r.status, type));
      if (names.length === 0) {
        failures.push(`${method} ${path} ${r.status} ${type}: no documented component schema`);
        continue;
      }
      const ok = componentsOf(documentedSchema(doc, template, method, 200, 'application/json'));
      if (ok.join() === names.join()) answered.add(`${method} ${template}`);
      for (const name of names) {
        const parsed = (COMPONENTS[name] as z.ZodType).safeParse(JSON.parse(r.text));
        if (!parsed.success)
          failures.push(
            ...parsed.error.issues.map(
              (i) => `${method} ${path} ${r.status} ${name} at ${i.path.join('.') || '(root)'}: ${i.message}`,
            ),
          );
      }
    }
    expect(failures).toEqual([]);

    // Every documented operation whose 200 answer is a named JSON shape was called above and
    // answered with that shape (a /readyz still warming up answers 503 with the same shape).
    const expected: string[] = [];
    for (const [template, item] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
      for (const method of Object.keys(item)) {
        if (method === 'head' || method === 'options') continue;
        if (componentsOf(documentedSchema(doc, template, method, 200, 'application/json')).length > 0)
          expected.push(`${method} ${template}`);
      }
    }
    expect(expected.length).toBeGreaterThan(15);
    // The harness runs without a nodes file, so a reload answers 409 (parsed as a Problem above).
    const cannotSucceedHere = ['post /v1/admin/reload'];
    expect(expected.filter((op) => !answered.has(op) && !cannotSucceedHere.includes(op)).sort()).toEqual([]);
  });
});
