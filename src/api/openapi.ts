// The OpenAPI 3.1 document: route metadata here, shapes generated from the zod schemas in schemas/.
import { HISTORY_LIMITS, NODES_PAGE, TRANSITION_LIMITS } from './routes/nodes.js';
import { FLEET_TRANSITION_PAGE } from './routes/transitions.js';
import { ADMIN_LIMITS } from './schemas/admin.js';
import { type ComponentName, componentSchemas } from './schemas/components.js';

/**
 * The OpenAPI 3.1 description of every HTTP route of the app (https://spec.openapis.org/oas/v3.1.0).
 * This file holds the routes' metadata (parameters, statuses, security, descriptions); the shapes
 * of bodies are the zod schemas of src/api/schemas/, generated into `components.schemas`.
 * test/api/openapi.test.ts walks the live express router and fails when a route is missing
 * here or documented but not served; test/api/response-schemas.test.ts parses real answers
 * of every documented route with the zod schemas, so a shape that drifts fails there.
 */

type Json = Record<string, unknown>;

const ref = (name: ComponentName): Json => ({ $ref: `#/components/schemas/${name}` });
const resp = (name: string): Json => ({ $ref: `#/components/responses/${name}` });
const json = (schema: Json, description: string, example?: unknown): Json => ({
  description,
  content: { 'application/json': { schema, ...(example === undefined ? {} : { example }) } },
});
const str = (description?: string): Json => ({ type: 'string', ...(description ? { description } : {}) });
const int = (description?: string): Json => ({ type: 'integer', ...(description ? { description } : {}) });
const obj = (
  properties: Record<string, Json>,
  required: readonly string[] = Object.keys(properties),
  extra: Json = {},
): Json => ({ type: 'object', properties, required, ...extra });

const problemResponse = (description: string, schema: Json = ref('Problem')): Json => ({
  description,
  content: { 'application/problem+json': { schema } },
});

const pathParam = (name: string, description: string): Json => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string', maxLength: 128 },
});
const queryParam = (name: string, description: string, schema: Json, extra: Json = {}): Json => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
  ...extra,
});

const NODE_ID = pathParam('id', 'Node id as in the nodes file (`[A-Za-z0-9][A-Za-z0-9._-]{0,63}`).');
const TAG_FILTER = {
  name: 'tag',
  in: 'query',
  required: false,
  description: 'Only nodes carrying this tag (404 if no node of the chain has it).',
  schema: { type: 'string', maxLength: 64 },
};
const CHAIN = pathParam(
  'chain',
  'Chain name as in the nodes file: `bsc`, `bsc-testnet`, `defichain`, `defichain-testnet`, `pai`, `pai-testnet`, `evm`, `bitcoin`.',
);

/** Read routes: open unless NODESENTRY_API_KEY is set. */
const READ_SECURITY = [{ apiKey: [] }, { apiKeyBearer: [] }, {}];
const ADMIN_SECURITY = [{ adminToken: [] }];
/** Probes: open unless NODESENTRY_PROTECT_PROBES is on (then the API key). */
const PROBE_SECURITY = [{}, { apiKey: [] }, { apiKeyBearer: [] }];

const READ_ERRORS = { '400': resp('BadQuery'), '401': resp('Unauthorized'), '403': resp('Forbidden') };
const ADMIN_ERRORS = {
  '400': resp('BadRequest'),
  '401': resp('Unauthorized'),
  '403': resp('AdminForbidden'),
  '413': resp('TooLarge'),
  '415': resp('UnsupportedMediaType'),
};
const JSON_BODY_OPTIONAL = (schema: Json, example: unknown): Json => ({
  required: false,
  content: { 'application/json': { schema, example } },
});

const probeParams = (kind: 'node' | 'host' | 'chain'): Json[] => [
  queryParam(
    'degraded',
    'Status a degraded answer gets: 200 (default; Envoy also reads `x-envoy-degraded`), 429 (Consul "warning"), 503 (treat as down).',
    { type: 'integer', enum: [200, 429, 503] },
  ),
  ...(kind !== 'chain'
    ? [
        queryParam(
          'drained',
          'Status of a drained node: 503 (default) or 404 (HAProxy `http-check disable-on-404`: drain, keep sessions).',
          { type: 'integer', enum: [503, 404] },
        ),
      ]
    : []),
  ...(kind === 'chain'
    ? [
        queryParam('min', 'Usable nodes the chain needs to answer up (default NODESENTRY_CHAIN_MIN_HEALTHY, 1).', {
          type: 'integer',
          minimum: 1,
          maximum: 10_000,
        }),
      ]
    : []),
  queryParam('format', 'Body format: `json` (default) or `text` (one line).', {
    type: 'string',
    enum: ['json', 'text'],
  }),
];

const HOST_HEADER = {
  name: 'Host',
  in: 'header',
  required: true,
  description:
    'The node id (a port is ignored): Envoy sends one path for a cluster and `health_check_config.hostname` per endpoint.',
  schema: { type: 'string' },
};

const PROBE_SUMMARY = {
  node: 'Load-balancer check of one node',
  host: 'Load-balancer check of the node named by the Host header (Envoy)',
  chain: 'Load-balancer check of a chain: up while enough nodes are usable',
} as const;

const probeOperation = (kind: 'node' | 'host' | 'chain', method: 'get' | 'head' | 'options'): Json => {
  const answer = kind === 'chain' ? 'chain' : 'node';
  return {
    tags: ['probes'],
    operationId: `probe${kind[0]!.toUpperCase()}${kind.slice(1)}${method[0]!.toUpperCase()}${method.slice(1)}`,
    summary: `${PROBE_SUMMARY[kind]} (${method.toUpperCase()})`,
    description:
      'Answers from memory, never waiting on a node or the store. The status carries the verdict; the state is also in `x-nodesentry-state`. ' +
      'GET, HEAD and OPTIONS answer alike (HAProxy checks with OPTIONS by default); other methods get 405.',
    security: PROBE_SECURITY,
    parameters: [...(kind === 'node' ? [NODE_ID] : kind === 'chain' ? [CHAIN] : [HOST_HEADER]), ...probeParams(kind)],
    responses: {
      '200': probeResponse(answer, 'Healthy (or degraded, with `degraded=200`).'),
      '404': probeResponse(
        answer,
        answer === 'node' ? 'Unknown node, or drained with `drained=404`.' : 'No configured node serves this chain.',
      ),
      '429': probeResponse(answer, 'Degraded, with `degraded=429`.'),
      '503': probeResponse(
        answer,
        answer === 'node'
          ? 'Unhealthy, unknown (stale or never probed), drained (default), or degraded with `degraded=503`.'
          : 'Fewer than `min` usable nodes.',
      ),
      '400': kind === 'host' ? problemResponse('A bad query parameter, or no Host header.') : resp('BadQuery'),
      '401': resp('Unauthorized'),
      '403': resp('Forbidden'),
      '405': problemResponse('Another method than GET, HEAD or OPTIONS (`method_not_allowed`; `Allow` lists them).'),
    },
  };
};

function probeResponse(kind: 'node' | 'chain', description: string): Json {
  return {
    description,
    headers: {
      'x-nodesentry-state': {
        description:
          'healthy, degraded, unhealthy, unknown or maintenance; `not_configured` on the 404 problem for an unknown node or chain',
        schema: { type: 'string' },
      },
      'x-envoy-degraded': { description: 'Present (`true`) when degraded.', schema: { type: 'string' } },
      'cache-control': {
        description: '`no-store` on every probe answer, problems included.',
        schema: { type: 'string' },
      },
    },
    content: {
      'application/json': { schema: ref(kind === 'node' ? 'ProbeNodeAnswer' : 'ProbeChainAnswer') },
      'text/plain': {
        schema: { type: 'string' },
        example: kind === 'node' ? 'degraded peers_low(4<13)\n' : 'healthy 3/3 usable, 3 healthy, min 1\n',
      },
      'application/problem+json': { schema: ref('Problem') },
    },
  };
}

const responses: Record<string, Json> = {
  BadQuery: problemResponse(
    'A query parameter is unknown, repeated or invalid (`errors` names each).',
    ref('BadQueryProblem'),
  ),
  BadRequest: problemResponse(
    'Invalid request: bad query parameter, malformed JSON body (`malformed_body`), or invalid body members.',
  ),
  Unauthorized: problemResponse('Credentials missing (`X-API-Key`, or `Authorization: Bearer` for admin routes).'),
  Forbidden: problemResponse('Credentials not valid.'),
  AdminForbidden: problemResponse(
    'The admin token is not valid, or admin routes are disabled (no NODESENTRY_ADMIN_TOKEN configured).',
  ),
  NodeNotFound: problemResponse('No node with this id is configured (`node_not_found`).'),
  ChainNotFound: problemResponse(
    'No configured node serves this chain (`chain_not_found`), or none has the tag (`tag_not_found`).',
  ),
  TooLarge: problemResponse(`Body larger than 8 KiB (\`payload_too_large\`).`),
  UnsupportedMediaType: problemResponse('Body is not application/json (`unsupported_media_type`).'),
  StoreUnavailable: problemResponse('The store (Redis) did not answer; retry (`store_unavailable`).'),
};

function readOp(
  operationId: string,
  summary: string,
  description: string,
  parameters: Json[],
  ok: Json,
  extra: Record<string, Json> = {},
): Json {
  return {
    tags: ['nodes'],
    operationId,
    summary,
    description,
    security: READ_SECURITY,
    parameters,
    responses: { '200': ok, ...READ_ERRORS, ...extra },
  };
}

function adminOp(
  operationId: string,
  summary: string,
  description: string,
  parameters: Json[],
  ok: Json,
  extra: Record<string, Json>,
  requestBody?: Json,
): Json {
  const operator = {
    name: 'X-Operator',
    in: 'header',
    required: false,
    description: 'Who acts, for the audit log (plain characters, at most 64; default `admin`).',
    schema: { type: 'string' },
  };
  return {
    tags: ['admin'],
    operationId,
    summary,
    description,
    security: ADMIN_SECURITY,
    parameters: [...parameters, operator],
    ...(requestBody ? { requestBody } : {}),
    responses: { '200': ok, ...ADMIN_ERRORS, ...extra },
  };
}

const chainsOp = (
  operationId: string,
  summary: string,
  parameters: Json[],
  schema: Json,
  extra: Record<string, Json> = {},
): Json => ({
  tags: ['chains'],
  operationId,
  summary,
  security: READ_SECURITY,
  parameters,
  responses: { '200': json(schema, summary), ...READ_ERRORS, ...extra },
});

const JSON_RPC_ERROR = obj(
  {
    code: int(
      "JSON-RPC error code: the node's own, or the proxy's (-32700 parse, -32600 invalid request / body or batch too large, -32601 method refused or unknown chain/node, -32001 API key, -32005 rate limited, -32011 no node / every node failed, -32012 no node at the client's head, -32013 a write failed after it may have run, -32002 deadline, -32003 answer too large).",
    ),
    message: str(),
    data: {
      description:
        "The proxy's errors carry `reason` (a stable `RPC_PROXY_*` code) and safe numbers; a node's errors carry what the node sent.",
    },
  },
  ['code', 'message'],
);
const JSON_RPC_REPLY = {
  type: 'object',
  description:
    'JSON-RPC 2.0 (`jsonrpc`, `id`, `result` or `error`) or legacy 1.0 (`result`, `error`, `id`), as the node speaks it.',
  properties: {
    jsonrpc: { type: 'string', enum: ['2.0'] },
    id: {},
    result: {},
    error: { oneOf: [{ type: 'null' }, JSON_RPC_ERROR] },
  },
  required: ['id'],
};
const JSON_RPC_ANSWER = { oneOf: [JSON_RPC_REPLY, { type: 'array', items: JSON_RPC_REPLY }] };
const rpcJson = (description: string): Json => ({
  description,
  content: { 'application/json': { schema: JSON_RPC_ANSWER } },
});
const RPC_HEADERS_IN: Json[] = [
  {
    name: 'x-nodesentry-min-head',
    in: 'header',
    required: false,
    description:
      'Consistent reads: the highest `x-nodesentry-head` this client was served; the request goes only to a node known at or above it (waiting up to NODESENTRY_RPC_CONSISTENCY_WAIT_MS for one to catch up).',
    schema: { type: 'string', pattern: '^(0x[0-9a-fA-F]{1,13}|[0-9]{1,15})$' },
  },
  {
    name: 'x-nodesentry-session',
    in: 'header',
    required: false,
    description:
      'Consistent reads without echoing: the proxy remembers the highest head served to this session (per replica, 10 min idle).',
    schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
  },
];
const rpcOperation = (pinned: boolean): Json => ({
  tags: ['rpc'],
  operationId: pinned ? 'rpcPinned' : 'rpc',
  summary: pinned
    ? 'JSON-RPC to one node of the chain (operators, debugging): no selection, no failover'
    : "JSON-RPC to the chain's chosen node, with failover per request",
  description:
    "The body is forwarded as the client sent it (single call or batch), with the node's credentials and `${VAR}` URL tokens added inside. " +
    'Routed like `/v1/chains/{chain}/best` (sticky, tiered). A transport failure (refused, reset, timeout, HTTP 429/5xx, warming up) moves to the next candidate within NODESENTRY_RPC_DEADLINE_MS; ' +
    'JSON-RPC errors from the node are passed on unchanged, status included. Writes (`eth_sendRawTransaction`, `sendrawtransaction`, ...) go to a second node only when the first provably did not receive them. ' +
    'Methods that administer a node (admin_, debug_, personal_, miner_, stop, setnetworkactive, wallet calls) are refused unless allowed by NODESENTRY_RPC_ALLOW_*. ' +
    'Answers carry `x-nodesentry-node` (the node that answered) and `x-nodesentry-head` (its known head).',
  security: READ_SECURITY,
  parameters: [CHAIN, ...(pinned ? [{ ...NODE_ID, name: 'node' }] : []), ...RPC_HEADERS_IN],
  requestBody: {
    required: true,
    content: {
      'application/json': {
        schema: { oneOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' }, minItems: 1 }] },
        example: { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] },
      },
    },
  },
  responses: {
    '200': rpcJson(
      "The node's answer (results and JSON-RPC errors alike), or a batch in which the proxy answered refused calls itself.",
    ),
    '400': rpcJson("Not JSON-RPC (-32700, -32600), batch too large, a bad header; or a Bitcoin-family node's own 400."),
    '401': rpcJson('API key missing (NODESENTRY_API_KEY is set).'),
    '403': rpcJson('Method refused by policy, or a wrong API key.'),
    '404': rpcJson('Unknown chain or node; or a Bitcoin-family node\'s "method not found".'),
    '405': rpcJson('Not POST.'),
    '413': rpcJson('Body over NODESENTRY_RPC_MAX_BODY_BYTES.'),
    '415': rpcJson('EVM chains: content type not application/json.'),
    '429': rpcJson('Rate limit of this key exceeded (`Retry-After`).'),
    '500': rpcJson("A Bitcoin-family node's own JSON-RPC error (legacy 1.0 maps errors to 500)."),
    '502': rpcJson(
      'Every node tried failed before answering, a write failed after it may have run, or the answer exceeded NODESENTRY_RPC_MAX_RESPONSE_BYTES.',
    ),
    '503': rpcJson("No node may serve now, or none has reached the client's head (`Retry-After`)."),
    '504': rpcJson('The deadline passed before any node answered.'),
  },
});

const paths: Record<string, Json> = {
  '/livez': {
    get: {
      tags: ['meta'],
      operationId: 'livez',
      summary: 'Liveness of this process (not of the nodes)',
      security: [{}],
      responses: { '200': json(ref('Livez'), 'The process answers.') },
    },
  },
  '/readyz': {
    get: {
      tags: ['meta'],
      operationId: 'readyz',
      summary: 'Readiness: the fleet view is loaded and, for workers, every owned node was probed once',
      security: [{}],
      responses: { '200': json(ref('Readyz'), 'Ready.'), '503': json(ref('Readyz'), 'Not ready yet.') },
    },
  },
  '/': {
    get: {
      tags: ['dashboard'],
      operationId: 'dashboard',
      summary: "The operator's dashboard (HTML)",
      description:
        "The fleet at a glance in a browser: chains, nodes, a node's peers, traffic and recent changes, live from `/v1/events`; drain and undrain with an admin token. " +
        'The page holds no data (it reads the API, sending the API key when one is configured), so it is open. ' +
        '`cache-control: no-cache` with a strong ETag (304 on `If-None-Match`); a Content-Security-Policy allows only this origin and nothing inline.',
      security: [{}],
      responses: {
        '200': {
          description: 'The page.',
          headers: {
            'content-security-policy': {
              description: "`default-src 'self'`, no inline script or style.",
              schema: { type: 'string' },
            },
            etag: { description: 'Strong validator of the page.', schema: { type: 'string' } },
          },
          content: { 'text/html': { schema: { type: 'string' } } },
        },
        '304': { description: 'Not modified (`If-None-Match` matched the ETag).' },
      },
    },
  },
  '/ui/{asset}': {
    get: {
      tags: ['dashboard'],
      operationId: 'dashboardAsset',
      summary: "The dashboard's script, stylesheet and icon",
      description:
        'Names carry a hash of the content (`dashboard.<hash>.js`), as the page links them: `cache-control: public, max-age=31536000, immutable`. Any other name is a 404.',
      security: [{}],
      parameters: [pathParam('asset', 'A file name as linked by the page, e.g. `dashboard.0123456789ab.js`.')],
      responses: {
        '200': {
          description: 'The file.',
          content: {
            'text/javascript': { schema: { type: 'string' } },
            'text/css': { schema: { type: 'string' } },
            'image/svg+xml': { schema: { type: 'string' } },
          },
        },
        '304': { description: 'Not modified.' },
        '404': problemResponse('No such file (`route_not_found`), e.g. a hash of an older release.'),
      },
    },
  },
  '/openapi.json': {
    get: {
      tags: ['meta'],
      operationId: 'openapi',
      summary: 'This document',
      security: [{}],
      responses: { '200': json({ type: 'object' }, 'OpenAPI 3.1 document.') },
    },
  },
  '/metrics': {
    get: {
      tags: ['meta'],
      operationId: 'metrics',
      summary: 'Prometheus metrics (text exposition format)',
      security: READ_SECURITY,
      responses: {
        '200': { description: 'Metrics.', content: { 'text/plain': { schema: { type: 'string' } } } },
        '401': resp('Unauthorized'),
        '403': resp('Forbidden'),
      },
    },
  },
  '/probe/nodes/{id}': {
    get: probeOperation('node', 'get'),
    head: probeOperation('node', 'head'),
    options: probeOperation('node', 'options'),
  },
  '/probe/host': {
    get: probeOperation('host', 'get'),
    head: probeOperation('host', 'head'),
    options: probeOperation('host', 'options'),
  },
  '/probe/chains/{chain}': {
    get: probeOperation('chain', 'get'),
    head: probeOperation('chain', 'head'),
    options: probeOperation('chain', 'options'),
  },
  '/v1/chains': {
    get: chainsOp('listChains', 'Every chain: node counts by state, reference head, current choice', [], ref('Chains')),
  },
  '/v1/chains/{chain}/ranking': {
    get: chainsOp(
      'chainRanking',
      "A chain's nodes in rank order with their score parts",
      [CHAIN, TAG_FILTER],
      ref('Ranking'),
      { '404': resp('ChainNotFound') },
    ),
  },
  '/v1/chains/{chain}/best': {
    get: chainsOp(
      'chainBest',
      'The node(s) a backend should use now',
      [
        CHAIN,
        TAG_FILTER,
        queryParam('top', "How many nodes in `top`, best first (default: the policy's topN).", {
          type: 'integer',
          minimum: 1,
          maximum: 100,
        }),
      ],
      ref('Best'),
      {
        '404': resp('ChainNotFound'),
        '503': problemResponse(
          'No node to offer (`no_usable_node`: fail-closed, or nothing may serve); the selection rides along as extension members.',
          { allOf: [ref('Problem'), ref('Best')] },
        ),
      },
    ),
  },
  '/v1/nodes': {
    get: readOp(
      'listNodes',
      'Nodes, filtered and paged',
      `Order: chain, then id. Page with \`cursor\` (from \`nextCursor\`; stable while nodes come and go) or \`offset\`. Unknown parameters are a 400, so a typo never returns everything.`,
      [
        queryParam('chain', 'Only this chain (must be a configured chain).', { type: 'string' }),
        queryParam('tag', 'Only nodes carrying this tag; repeat for all of several tags.', { type: 'string' }),
        queryParam('state', 'Only nodes in this effective state.', ref('HealthState')),
        queryParam('limit', `Page size (default ${NODES_PAGE.defaultLimit}).`, {
          type: 'integer',
          minimum: 1,
          maximum: NODES_PAGE.maxLimit,
        }),
        queryParam('cursor', 'Opaque: `nextCursor` of the previous page.', { type: 'string' }),
        queryParam('offset', 'Skip this many matching nodes (not with `cursor`).', { type: 'integer', minimum: 0 }),
      ],
      json(ref('NodeList'), 'A page of nodes.'),
    ),
  },
  '/v1/nodes/{id}': {
    get: readOp(
      'getNode',
      'One node in full',
      'Effective state (stale -> unknown, drained -> maintenance), reasons, score parts, hysteresis, latest sample, capabilities, freshness, writer replica, drain.',
      [NODE_ID],
      json(ref('NodeDetail'), 'The node.'),
      { '404': resp('NodeNotFound') },
    ),
  },
  '/v1/nodes/{id}/peers': {
    get: readOp(
      'getNodePeers',
      "A node's peers",
      'Bitcoin family: from `getpeerinfo`: inbound/outbound, client versions, ping times, sync heights, bytes per message type. The list is collected once a minute per node (and when its peer count changes), the first within a minute of its first probe: until then `list` is `not_collected_yet`, `peers` is null and `reported` has the counts. A list not refreshed when due (getpeerinfo failing since) is served as `stale`, with `collectedAt`, never as current. EVM: the peer count only (`net_peerCount`), with `detail` saying per-peer data is not offered.',
      [NODE_ID],
      json(ref('PeerReport'), 'Peers.'),
      { '404': resp('NodeNotFound'), '503': resp('StoreUnavailable') },
    ),
  },
  '/v1/nodes/{id}/history': {
    get: readOp(
      'getNodeHistory',
      "A node's recent probes and traffic rates",
      'Points newest first. `rates`: bytes/s received and sent over the window, from the `getnettotals` counters (Bitcoin family), counter resets (restarts) handled like Prometheus `rate()`.',
      [
        NODE_ID,
        queryParam('limit', `Points (default ${HISTORY_LIMITS.defaultLimit}).`, {
          type: 'integer',
          minimum: 1,
          maximum: HISTORY_LIMITS.maxLimit,
        }),
      ],
      json(ref('History'), 'History.'),
      { '404': resp('NodeNotFound'), '503': resp('StoreUnavailable') },
    ),
  },
  '/v1/nodes/{id}/transitions': {
    get: readOp(
      'getNodeTransitions',
      "A node's recent state changes",
      `Newest first, as seen by the polling replicas: kept in the store, at most ${TRANSITION_LIMITS.maxLimit} per node, for 7 days after the latest one. Live changes arrive as \`transition\` events on \`/v1/events\`.`,
      [
        NODE_ID,
        queryParam('limit', `Changes (default ${TRANSITION_LIMITS.defaultLimit}).`, {
          type: 'integer',
          minimum: 1,
          maximum: TRANSITION_LIMITS.maxLimit,
        }),
      ],
      json(ref('Transitions'), 'State changes.'),
      { '404': resp('NodeNotFound'), '503': resp('StoreUnavailable') },
    ),
  },
  '/v1/transitions': {
    get: readOp(
      'listTransitions',
      "The fleet's recent state changes",
      "Every node's state changes, newest first, from the fleet-wide log in the store (at most 2000 changes, kept 7 days after the latest; a removed node's stay). Page with `cursor` (from `nextCursor`; stable while new changes arrive). Live changes arrive as `transition` events on `/v1/events`.",
      [
        queryParam('chain', 'Only this chain.', { type: 'string' }),
        queryParam('node', 'Only this node.', { type: 'string' }),
        queryParam('state', 'Only changes into this state.', ref('HealthState')),
        queryParam('limit', `Page size (default ${FLEET_TRANSITION_PAGE.defaultLimit}).`, {
          type: 'integer',
          minimum: 1,
          maximum: FLEET_TRANSITION_PAGE.maxLimit,
        }),
        queryParam('cursor', 'Opaque: `nextCursor` of the previous page.', { type: 'string' }),
      ],
      json(ref('FleetTransitions'), 'A page of state changes.'),
      { '503': resp('StoreUnavailable') },
    ),
  },
  '/v1/events': {
    get: {
      tags: ['events'],
      operationId: 'events',
      summary: 'Server-Sent Events: transition, drain, selection',
      description:
        "`hello` on connect, then `transition` (a node changed state), `drain` (drained or undrained), `selection` (a chain's chosen node or mode changed). " +
        'Every data line is JSON, of the schema `x-sse-events` names for its event (`HelloEvent`, `TransitionEvent`, `DrainEvent`, `SelectionEvent`). A comment line every `heartbeat` seconds keeps proxies from closing an idle stream. Events carry ids; a client reconnecting with `Last-Event-ID` gets the events it missed while they are still buffered (`hello.resumed`).',
      security: READ_SECURITY,
      parameters: [
        queryParam('chain', 'Only events of this chain.', { type: 'string' }),
        queryParam('heartbeat', 'Seconds between keep-alive comments (default 15).', {
          type: 'integer',
          minimum: 1,
          maximum: 300,
        }),
        {
          name: 'Last-Event-ID',
          in: 'header',
          required: false,
          description: 'Resume after this event id.',
          schema: { type: 'string' },
        },
      ],
      responses: {
        '200': {
          description: 'An event stream.',
          content: {
            'text/event-stream': {
              schema: { type: 'string' },
              // OpenAPI 3.1 has no way to type an event stream's items (3.2's itemSchema): each
              // event's data line is named here, and test/api/events.test.ts parses real ones with them.
              'x-sse-events': {
                hello: ref('HelloEvent'),
                transition: ref('TransitionEvent'),
                drain: ref('DrainEvent'),
                selection: ref('SelectionEvent'),
              },
              example:
                'event: hello\ndata: {"replica":"r1","heartbeatS":15}\n\nid: 3f9a1c-1\nevent: transition\ndata: {"nodeId":"bsc-a","from":"healthy","to":"degraded"}\n\n',
            },
          },
        },
        ...READ_ERRORS,
        '429': problemResponse(
          'As many streams are open as NODESENTRY_MAX_EVENT_STREAMS allows (default 100); `Retry-After` says when to try again.',
        ),
        '503': problemResponse('Shutting down.'),
      },
    },
  },
  '/v1/nodes/{id}/drain': {
    post: adminOp(
      'drainNode',
      'Drain a node',
      'The node reports `maintenance` at once on every replica (stored, then published), its probe answers drained, it is never chosen. Draining a drained node keeps who drained it and when (unless a new reason is given).',
      [NODE_ID],
      json(ref('DrainResult'), 'Drained.'),
      { '404': resp('NodeNotFound'), '503': resp('StoreUnavailable') },
      JSON_BODY_OPTIONAL(ref('DrainBody'), { reason: 'kernel upgrade' }),
    ),
    delete: adminOp(
      'undrainNode',
      'Undrain a node',
      'The node resumes its tracked state at once.',
      [NODE_ID],
      json(ref('UndrainResult'), 'Undrained (or was not drained: `changed: false`).'),
      {
        '404': resp('NodeNotFound'),
        '503': resp('StoreUnavailable'),
      },
    ),
  },
  '/v1/nodes/{id}/network': {
    post: adminOp(
      'setNodeNetwork',
      "Switch a Bitcoin-family node's P2P networking (setnetworkactive)",
      "Calls `setnetworkactive` on the node with nodesentry's credentials for it and answers with the node's result. EVM nodes have no such call: 409.",
      [NODE_ID],
      json(ref('NetworkResult'), "The node's answer."),
      {
        '404': resp('NodeNotFound'),
        '409': problemResponse('The node is not of the Bitcoin family.'),
        '502': problemResponse('The node failed or answered with an error (`node_error`, with `nodeError.code`).'),
        '504': problemResponse('The node did not answer in time (`node_timeout`).'),
      },
      { required: true, content: { 'application/json': { schema: ref('NetworkBody'), example: { active: false } } } },
    ),
  },
  '/rpc/{chain}': { post: rpcOperation(false) },
  '/rpc/{chain}/{node}': { post: rpcOperation(true) },
  '/wallet/{chain}': {
    post: {
      ...rpcOperation(false),
      operationId: 'rpcBitcoinCli',
      summary:
        'The same as POST /rpc/{chain}, for bitcoin-cli / defi-cli / paicoin-cli (`-rpcwallet=<chain>`); Bitcoin-family chains only',
      description:
        'CLIs of the Bitcoin family choose a path only through `-rpcwallet`, which posts to `/wallet/<name>`. The API key may come as the Basic-auth password (`-rpcpassword`).',
    },
  },
  '/v1/admin/reload': {
    post: adminOp(
      'reload',
      'Re-read the nodes file',
      "Same as SIGHUP: this replica re-reads its nodes file, then every other replica re-reads its own (each outcome is audited with the answer's `request` id). An invalid file is refused (422, `errors`) and the running configuration stays.",
      [],
      json(ref('ReloadResult'), 'Applied.'),
      {
        '409': problemResponse('No nodes file to reload, or a reload is in progress.'),
        '422': problemResponse('The nodes file is invalid (`errors` lists the problems).'),
      },
    ),
  },
  '/v1/admin/audit': {
    get: adminOp(
      'audit',
      'The audit log of operator actions, newest first',
      'Kept in the store (bounded); shared by every replica.',
      [
        queryParam('limit', `Entries (default ${ADMIN_LIMITS.auditDefaultLimit}).`, {
          type: 'integer',
          minimum: 1,
          maximum: ADMIN_LIMITS.auditMaxLimit,
        }),
      ],
      json(ref('AuditList'), 'Entries.'),
      {
        '503': resp('StoreUnavailable'),
      },
    ),
  },
};

/** The document; built once per app. */
export function openApiDocument(): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'nodesentry',
      version: '1',
      description:
        'Health, ranking and selection of blockchain JSON-RPC nodes (BSC/EVM, DeFiChain, PAI) for load balancers, operators and backends. ' +
        'Errors are RFC 9457 problem details; `type` is `urn:nodesentry:problem:<code>`. Times are epoch milliseconds.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    tags: [
      { name: 'probes', description: 'Load-balancer checks (HAProxy, Envoy, Consul, Kubernetes).' },
      { name: 'chains', description: 'Chains, ranking and the node to use.' },
      { name: 'nodes', description: 'Nodes for operators and dashboards.' },
      { name: 'events', description: 'Live changes.' },
      { name: 'admin', description: 'Operator actions (admin token).' },
      { name: 'rpc', description: 'JSON-RPC proxy for backends: failover per request, credentials kept inside.' },
      { name: 'meta', description: 'This process.' },
      { name: 'dashboard', description: "The operator's dashboard in a browser." },
    ],
    paths,
    components: {
      schemas: componentSchemas(),
      responses,
      securitySchemes: {
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'X-API-Key',
          description: 'NODESENTRY_API_KEY; read routes are open when it is not set.',
        },
        apiKeyBearer: { type: 'http', scheme: 'bearer', description: 'The API key as `Authorization: Bearer <key>`.' },
        adminToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'NODESENTRY_ADMIN_TOKEN; admin routes are disabled (403) when it is not set.',
        },
      },
    },
  };
}
