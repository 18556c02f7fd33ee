// The store's wire format: records, facts and events encoded and checked once, shared by both stores.
import { type PeerDetail, type Sample, withoutPeerList } from '../chains/sample.js';
import { asChainReport } from '../health/chain-report.js';
import { asNodeVerdict } from '../health/verdict.js';
import type {
  ChainFacts,
  Drain,
  DrainFact,
  FleetTransition,
  HistoryPoint,
  NodeRecord,
  StoreEvent,
  StoredPeers,
  TransitionEntry,
} from './store.js';
import { InvalidArgumentError } from '../errors/argument-errors.js';

/**
 * The JSON nodesentry stores and publishes, shared by both stores so they agree byte for byte.
 * Every stored value carries `v` (the format version). A reader skips what it does not
 * understand (garbage, another version's records under the same prefix) instead of crashing:
 * decoders return a reason, the stores warn once and move on.
 */
export const FORMAT_VERSION = 1;

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

type Json = Record<string, unknown>;

function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
const isString = (x: unknown): x is string => typeof x === 'string';
const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isStringArray = (x: unknown): x is string[] => Array.isArray(x) && x.every(isString);

/** Parse JSON and check the version field; the reason never repeats the value. */
function parseVersioned(raw: string): Decoded<Json> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return fail('not JSON');
  }
  return checkVersion(parsed);
}

function checkVersion(parsed: unknown): Decoded<Json> {
  if (!isObject(parsed)) return fail('not a JSON object');
  if (parsed['v'] !== FORMAT_VERSION) return fail(`unknown format version ${JSON.stringify(parsed['v'] ?? null)}`);
  return { ok: true, value: parsed };
}

// --- node records ---------------------------------------------------------------------------

export function recordToJson(record: NodeRecord): Json {
  return {
    v: FORMAT_VERSION,
    // Second, always: the fenced sweep script reads it from the first bytes of the stored
    // value to refuse a record older than the one it would replace (redis-scripts.ts).
    observedAt: Math.floor(record.sample.observedAt),
    nodeId: record.nodeId,
    chain: record.chain,
    sample: withoutPeerList(record.sample),
    health: record.health,
    replica: record.replica,
    writtenAt: record.writtenAt,
  };
}

export function encodeRecord(record: NodeRecord): string {
  return JSON.stringify(recordToJson(record));
}

function recordFromJson(parsed: unknown): Decoded<NodeRecord> {
  const checked = checkVersion(parsed);
  if (!checked.ok) return checked;
  const o = checked.value;
  if (!isString(o['nodeId']) || !isString(o['chain']) || !isString(o['replica']) || !isNumber(o['writtenAt'])) {
    return fail('record lacks nodeId, chain, replica or writtenAt');
  }
  const s = o['sample'];
  if (
    !isObject(s) ||
    !isString(s['nodeId']) ||
    !isNumber(s['observedAt']) ||
    !isNumber(s['latencyMs']) ||
    typeof s['ok'] !== 'boolean'
  ) {
    return fail('record has no valid sample');
  }
  return {
    ok: true,
    value: {
      nodeId: o['nodeId'],
      chain: o['chain'],
      sample: s as unknown as Sample,
      health: asNodeVerdict(o['health']),
      replica: o['replica'],
      writtenAt: o['writtenAt'],
    },
  };
}

/** `expectedNodeId`: the id the key belongs to; a record of another node under it is invalid. */
export function decodeRecord(raw: string, expectedNodeId?: string): Decoded<NodeRecord> {
  const parsed = parseVersioned(raw);
  if (!parsed.ok) return parsed;
  const record = recordFromJson(parsed.value);
  if (record.ok && expectedNodeId !== undefined && record.value.nodeId !== expectedNodeId) {
    return fail('record belongs to another node id');
  }
  return record;
}

// --- peers ------------------------------------------------------------------------------------

/**
 * The stored peer list's own format version. v2 (issue #17) is columnar: 628 -> ~300 B per peer
 * (a node's list 8.5 KB -> ~4 KB): the field names once, client versions and message names
 * once in tables, each peer a row. A reader of v1 only (before v2) skips a v2 list as "unknown
 * format version 2" and answers as for a node with no list stored; this reader reads both.
 */
export const PEERS_FORMAT_VERSION = 2;

/** v2's columns, in row order: PeerDetail's fields (a reader maps them by name, not position). */
const PEER_FIELDS = [
  'id',
  'addr',
  'inbound',
  'subver',
  'version',
  'pingTime',
  'minPing',
  'startingHeight',
  'syncedHeaders',
  'syncedBlocks',
  'bytesSent',
  'bytesRecv',
  'connTime',
  'connTimeFrom',
  'bytesSentPerMsg',
  'bytesRecvPerMsg',
] as const satisfies readonly (keyof PeerDetail)[];

type PeerField = (typeof PEER_FIELDS)[number];
type MsgBytes = Readonly<Record<string, number>>;

/**
 * v2 rows: `inbound` 1/0, `subver` an index into `subvers`, `connTimeFrom` 0 epoch / 1 duration,
 * the per-message maps arrays aligned with `msgs` (null: that message absent); an absent field
 * is null, and a row's trailing nulls are left off.
 */
export function encodePeers(peers: readonly PeerDetail[], collectedAt?: number): string {
  const subvers = new Map<string, number>();
  const msgIndex = new Map<string, number>();
  for (const p of peers) {
    if (p.subver !== undefined && !subvers.has(p.subver)) subvers.set(p.subver, subvers.size);
    for (const m of [p.bytesSentPerMsg, p.bytesRecvPerMsg])
      if (m) for (const k of Object.keys(m)) if (!msgIndex.has(k)) msgIndex.set(k, msgIndex.size);
  }
  const perMsg = (m: MsgBytes | undefined): (number | null)[] | null => {
    if (!m) return null;
    const row = new Array<number | null>(msgIndex.size).fill(null);
    for (const k of Object.keys(m)) row[msgIndex.get(k)!] = m[k]!;
    return row;
  };
  const rows = peers.map((p) => {
    const row: unknown[] = [
      p.id,
      p.addr,
      p.inbound ? 1 : 0,
      p.subver === undefined ? null : subvers.get(p.subver)!,
      p.version ?? null,
      p.pingTime ?? null,
      p.minPing ?? null,
      p.startingHeight ?? null,
      p.syncedHeaders ?? null,
      p.syncedBlocks ?? null,
      p.bytesSent ?? null,
      p.bytesRecv ?? null,
      p.connTime ?? null,
      p.connTimeFrom === undefined ? null : p.connTimeFrom === 'duration' ? 1 : 0,
      perMsg(p.bytesSentPerMsg),
      perMsg(p.bytesRecvPerMsg),
    ];
    while (row.length > 3 && row[row.length - 1] === null) row.pop();
    return row;
  });
  return JSON.stringify({
    v: PEERS_FORMAT_VERSION,
    // When the list was collected (the observedAt of the probe that built it). Added after v2
    // first shipped: a v2 reader of before ignores it, and a list without it reads as of unknown age.
    ...(collectedAt !== undefined && Number.isFinite(collectedAt) ? { at: Math.floor(collectedAt) } : {}),
    fields: PEER_FIELDS,
    subvers: [...subvers.keys()],
    msgs: [...msgIndex.keys()],
    peers: rows,
  });
}

/**
 * A sweep's peer list for one node as stored, or undefined when the write has none. It was
 * collected by the probe of the record it travels with (its observedAt), so that is its time.
 */
export function encodeNodePeers(node: {
  readonly peers?: readonly PeerDetail[] | undefined;
  readonly record?: NodeRecord | undefined;
}): string | undefined {
  return node.peers ? encodePeers(node.peers, node.record?.sample.observedAt) : undefined;
}

/** `collectedAt` of the list, when its writer recorded it (null: written by an older replica, or a v1 list). */
function collectedAtOf(o: Json): number | null {
  const at = o['at'];
  return isNumber(at) && Number.isSafeInteger(at) && at > 0 ? at : null;
}

export function decodePeers(raw: string): Decoded<StoredPeers> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return fail('not JSON');
  }
  if (isObject(parsed) && parsed['v'] === PEERS_FORMAT_VERSION) {
    const list = decodePeersV2(parsed);
    return list.ok ? { ok: true, value: { peers: list.value, collectedAt: collectedAtOf(parsed) } } : list;
  }
  // v1 (written before issue #17's compact list): the PeerDetail objects as they are.
  const v1 = checkVersion(parsed);
  if (!v1.ok) return v1;
  const peers = v1.value['peers'];
  if (!Array.isArray(peers) || !peers.every((p) => isObject(p) && isNumber(p['id']) && isString(p['addr']))) {
    return fail('peers is not a list of peers');
  }
  return { ok: true, value: { peers: peers as PeerDetail[], collectedAt: null } };
}

function decodePeersV2(o: Json): Decoded<PeerDetail[]> {
  const { fields, subvers, msgs, peers } = o;
  if (!isStringArray(fields) || !isStringArray(subvers) || !isStringArray(msgs) || !Array.isArray(peers))
    return fail('peers v2 lacks fields, subvers, msgs or peers');
  // Message names become object keys: never one that would reach a prototype.
  if (msgs.some((m) => m === '__proto__' || m === 'constructor' || m === 'prototype'))
    return fail('peers v2 names a reserved message');
  const at = new Map<string, number>(fields.map((f, i) => [f, i]));
  const col = (name: PeerField) => at.get(name) ?? -1;
  const c = Object.fromEntries(PEER_FIELDS.map((f) => [f, col(f)])) as Record<PeerField, number>;
  if (c.id < 0 || c.addr < 0 || c.inbound < 0) return fail('peers v2 lacks the id, addr or inbound column');
  const perMsg = (x: unknown): MsgBytes | undefined | false => {
    if (x === null || x === undefined) return undefined;
    if (!Array.isArray(x) || x.length > msgs.length) return false;
    const out: Record<string, number> = {};
    for (let i = 0; i < x.length; i++) {
      const v: unknown = x[i];
      if (v === null) continue;
      if (!isCount(v)) return false;
      out[msgs[i]!] = v;
    }
    return out;
  };
  const list: PeerDetail[] = [];
  for (const row of peers) {
    if (!Array.isArray(row)) return fail('a peers v2 row is not a list');
    const get = (i: number): unknown => (i < 0 ? null : (row[i] ?? null));
    const id = get(c.id);
    const addr = get(c.addr);
    const inbound = get(c.inbound);
    if (!isNumber(id) || !isString(addr) || (inbound !== 0 && inbound !== 1))
      return fail('a peers v2 row lacks id, addr or inbound');
    const p: { -readonly [K in keyof PeerDetail]?: PeerDetail[K] } = { id, addr, inbound: inbound === 1 };
    const sub = get(c.subver);
    if (sub !== null) {
      if (!isCount(sub) || sub >= subvers.length) return fail('a peers v2 row names no known subver');
      p.subver = subvers[sub]!;
    }
    for (const f of [
      'version',
      'pingTime',
      'minPing',
      'startingHeight',
      'syncedHeaders',
      'syncedBlocks',
      'bytesSent',
      'bytesRecv',
      'connTime',
    ] as const) {
      const v = get(c[f]);
      if (v === null) continue;
      if (!isNumber(v)) return fail(`a peers v2 row has a ${f} that is not a number`);
      p[f] = v;
    }
    const from = get(c.connTimeFrom);
    if (from !== null) {
      if (from !== 0 && from !== 1) return fail('a peers v2 row has an unknown connTimeFrom');
      p.connTimeFrom = from === 1 ? 'duration' : 'epoch';
    }
    for (const f of ['bytesSentPerMsg', 'bytesRecvPerMsg'] as const) {
      const m = perMsg(get(c[f]));
      if (m === false) return fail(`a peers v2 row has a ${f} that is not a list of byte counts`);
      if (m !== undefined) p[f] = m;
    }
    list.push(p as PeerDetail);
  }
  return { ok: true, value: list };
}

// --- history ----------------------------------------------------------------------------------

export function encodeHistoryPoint(point: HistoryPoint): string {
  return JSON.stringify({ v: FORMAT_VERSION, ...point });
}

export function decodeHistoryPoint(raw: string): Decoded<HistoryPoint> {
  const parsed = parseVersioned(raw);
  if (!parsed.ok) return parsed;
  const { v: _v, ...point } = parsed.value;
  if (!isNumber(point['t']) || typeof point['ok'] !== 'boolean' || !isNumber(point['latencyMs'])) {
    return fail('history point lacks t, ok or latencyMs');
  }
  return { ok: true, value: point as unknown as HistoryPoint };
}

// --- transitions ------------------------------------------------------------------------------

export function encodeTransition(t: TransitionEntry): string {
  return JSON.stringify({
    v: FORMAT_VERSION,
    from: t.from,
    to: t.to,
    reasons: t.reasons,
    at: t.at,
    replica: t.replica,
  });
}

export function decodeTransition(raw: string): Decoded<TransitionEntry> {
  const parsed = parseVersioned(raw);
  if (!parsed.ok) return parsed;
  const { from, to, reasons, at, replica } = parsed.value;
  if (!isString(from) || !isString(to) || !isStringArray(reasons) || !isNumber(at) || !isString(replica)) {
    return fail('transition lacks from, to, reasons, at or replica');
  }
  return { ok: true, value: { from, to, reasons, at, replica } };
}

export function encodeFleetTransition(t: FleetTransition): string {
  return JSON.stringify({
    v: FORMAT_VERSION,
    nodeId: t.nodeId,
    chain: t.chain,
    from: t.from,
    to: t.to,
    reasons: t.reasons,
    at: t.at,
    replica: t.replica,
  });
}

export function decodeFleetTransition(raw: string): Decoded<FleetTransition> {
  const parsed = parseVersioned(raw);
  if (!parsed.ok) return parsed;
  const t = transitionFields(parsed.value);
  return t ? { ok: true, value: t } : fail('fleet transition lacks nodeId, chain, from, to, reasons, at or replica');
}

/** The fields a state change carries, in the fleet log and in a `transition` event alike. */
function transitionFields(o: Json): FleetTransition | undefined {
  const { nodeId, chain, from, to, reasons, at, replica } = o;
  if (
    !isString(nodeId) ||
    !isString(chain) ||
    !isString(from) ||
    !isString(to) ||
    !isStringArray(reasons) ||
    !isNumber(at) ||
    !isString(replica)
  ) {
    return undefined;
  }
  return { nodeId, chain, from, to, reasons, at, replica };
}

// --- chain facts ------------------------------------------------------------------------------

function chainFactsToJson(facts: ChainFacts): Json {
  return {
    v: FORMAT_VERSION,
    chain: facts.chain,
    facts: facts.facts,
    replica: facts.replica,
    writtenAt: facts.writtenAt,
  };
}

export function encodeChainFacts(facts: ChainFacts): string {
  return JSON.stringify(chainFactsToJson(facts));
}

function chainFactsFromJson(parsed: unknown): Decoded<ChainFacts> {
  const checked = checkVersion(parsed);
  if (!checked.ok) return checked;
  const o = checked.value;
  if (!isString(o['chain']) || !isString(o['replica']) || !isNumber(o['writtenAt']))
    return fail('chain facts lack chain, replica or writtenAt');
  return {
    ok: true,
    value: { chain: o['chain'], facts: asChainReport(o['facts']), replica: o['replica'], writtenAt: o['writtenAt'] },
  };
}

export function decodeChainFacts(raw: string): Decoded<ChainFacts> {
  const parsed = parseVersioned(raw);
  return parsed.ok ? chainFactsFromJson(parsed.value) : parsed;
}

// --- drains -----------------------------------------------------------------------------------

function drainToJson(drain: Drain): Json {
  return {
    v: FORMAT_VERSION,
    nodeId: drain.nodeId,
    by: drain.by,
    at: drain.at,
    ...(drain.reason === undefined ? {} : { reason: drain.reason }),
  };
}

export function encodeDrain(drain: Drain): string {
  return JSON.stringify(drainToJson(drain));
}

function drainFromJson(parsed: unknown): Decoded<Drain> {
  const checked = checkVersion(parsed);
  if (!checked.ok) return checked;
  const o = checked.value;
  if (!isString(o['nodeId']) || !isString(o['by']) || !isNumber(o['at'])) return fail('drain lacks nodeId, by or at');
  const reason = o['reason'];
  if (reason !== undefined && !isString(reason)) return fail('drain reason is not a string');
  return {
    ok: true,
    value: { nodeId: o['nodeId'], by: o['by'], at: o['at'], ...(reason === undefined ? {} : { reason }) },
  };
}

export function decodeDrain(raw: string): Decoded<Drain> {
  const parsed = parseVersioned(raw);
  return parsed.ok ? drainFromJson(parsed.value) : parsed;
}

/**
 * A drain fact as stored in the drains hash: the drain's JSON plus `version`, or a tombstone
 * `{v, nodeId, version, drained: false}`. Facts written before versions existed read as
 * version = `at`.
 */
export function encodeDrainFact(fact: DrainFact): string {
  return `${drainFactPrefix(fact.nodeId, fact.drain)}${Math.floor(fact.version)}}`;
}

/** The stored JSON up to its version number (Lua appends the version it assigns, then `}`). */
export function drainFactPrefix(nodeId: string, drain: Drain | null): string {
  const body = drain === null ? { v: FORMAT_VERSION, nodeId, drained: false } : drainToJson(drain);
  return `${JSON.stringify(body).slice(0, -1)},"version":`;
}

/** The `drain` event up to its version number (as drainFactPrefix). */
export function drainEventPrefix(nodeId: string, drain: Drain | null): string {
  return `{"v":${FORMAT_VERSION},"type":"drain","nodeId":${JSON.stringify(nodeId)},"drain":${drain === null ? 'null' : JSON.stringify(drainToJson(drain))},"version":`;
}

export function decodeDrainFact(raw: string): Decoded<DrainFact> {
  const parsed = parseVersioned(raw);
  if (!parsed.ok) return parsed;
  const o = parsed.value;
  if (!isString(o['nodeId'])) return fail('drain lacks nodeId');
  const version = o['version'];
  if (version !== undefined && !isNumber(version)) return fail('drain version is not a number');
  if (o['drained'] === false) return { ok: true, value: { nodeId: o['nodeId'], version: version ?? 0, drain: null } };
  const drain = drainFromJson(o);
  return drain.ok
    ? { ok: true, value: { nodeId: o['nodeId'], version: version ?? drain.value.at, drain: drain.value } }
    : drain;
}

// --- audit ------------------------------------------------------------------------------------

/** Throws a TypeError for entries JSON cannot represent (undefined, functions). */
export function encodeAudit(entry: unknown, at: number): string {
  const entryJson = JSON.stringify(entry);
  if (entryJson === undefined) throw new InvalidArgumentError('audit entry is not representable as JSON');
  return `{"v":${FORMAT_VERSION},"at":${at},"entry":${entryJson}}`;
}

export function decodeAudit(raw: string): Decoded<unknown> {
  const parsed = parseVersioned(raw);
  if (!parsed.ok) return parsed;
  if (!('entry' in parsed.value)) return fail('audit item has no entry');
  return { ok: true, value: parsed.value['entry'] };
}

// --- events -----------------------------------------------------------------------------------

export function encodeEvent(event: StoreEvent): string {
  switch (event.type) {
    case 'records':
      return encodeRecordsEvent(event.records.map(encodeRecord));
    case 'chain':
      return JSON.stringify({ v: FORMAT_VERSION, type: event.type, facts: chainFactsToJson(event.facts) });
    case 'drain':
      return JSON.stringify({
        v: FORMAT_VERSION,
        type: event.type,
        nodeId: event.nodeId,
        drain: event.drain === null ? null : drainToJson(event.drain),
        ...(event.version === undefined ? {} : { version: event.version }),
      });
    default:
      return JSON.stringify({ v: FORMAT_VERSION, ...event });
  }
}

/**
 * A `records` event from records already encoded with `encodeRecord` (a sweep encodes each once).
 * `from` names the writing replica up front, so a subscriber can recognise its own echo from
 * the first bytes (see `ownRecordsPrefix`) without parsing megabytes of JSON.
 */
export function encodeRecordsEvent(encodedRecords: readonly string[], from?: string): string {
  const origin = from === undefined ? '' : `"from":${JSON.stringify(from)},`;
  return `{"v":${FORMAT_VERSION},"type":"records",${origin}"records":[${encodedRecords.join(',')}]}`;
}

/** How a `records` event written by `replica` begins. */
export function ownRecordsPrefix(replica: string): string {
  return `{"v":${FORMAT_VERSION},"type":"records","from":${JSON.stringify(replica)},`;
}

/** A store event as it travels: a `records` event may carry changes besides whole records. */
export type FeedEvent = { readonly event: StoreEvent; readonly changes: readonly RecordChange[] };

const NO_CHANGES: readonly RecordChange[] = [];

/** A store event; a `records` event's changes (see encodeRecordEntry) are left out. */
export function decodeEvent(raw: string): Decoded<StoreEvent> {
  const d = decodeFeedEvent(raw);
  return d.ok ? { ok: true, value: d.value.event } : d;
}

/** A store event with the record changes of a `records` event (which the receiver applies onto the records it holds). */
export function decodeFeedEvent(raw: string): Decoded<FeedEvent> {
  const parsed = parseVersioned(raw);
  if (!parsed.ok) return parsed;
  const o = parsed.value;
  if (o['type'] === 'records') {
    if (!Array.isArray(o['records'])) return fail('records event has no records');
    const records: NodeRecord[] = [];
    let changes: RecordChange[] | undefined;
    for (const r of o['records']) {
      if (isPlain(r) && r['c'] === 1) {
        const c = changeFromJson(r, isString(o['from']) ? o['from'] : undefined);
        if (!c.ok) return fail(`records event: ${c.reason}`);
        (changes ??= []).push(c.value);
        continue;
      }
      const d = recordFromJson(r);
      if (!d.ok) return fail(`records event: ${d.reason}`);
      records.push(d.value);
    }
    return { ok: true, value: { event: { type: 'records', records }, changes: changes ?? NO_CHANGES } };
  }
  const d = decodeOtherEvent(o);
  return d.ok ? { ok: true, value: { event: d.value, changes: NO_CHANGES } } : d;
}

function decodeOtherEvent(o: Json): Decoded<StoreEvent> {
  switch (o['type']) {
    case 'transition': {
      const t = transitionFields(o);
      return t ? { ok: true, value: { type: 'transition', ...t } } : fail('transition event lacks fields');
    }
    case 'chain': {
      const facts = chainFactsFromJson(o['facts']);
      return facts.ok
        ? { ok: true, value: { type: 'chain', facts: facts.value } }
        : fail(`chain event: ${facts.reason}`);
    }
    case 'drain': {
      if (!isString(o['nodeId'])) return fail('drain event has no nodeId');
      const version = isNumber(o['version']) ? { version: o['version'] } : {};
      if (o['drain'] === null)
        return { ok: true, value: { type: 'drain', nodeId: o['nodeId'], drain: null, ...version } };
      const drain = drainFromJson(o['drain']);
      return drain.ok
        ? { ok: true, value: { type: 'drain', nodeId: o['nodeId'], drain: drain.value, ...version } }
        : fail(`drain event: ${drain.reason}`);
    }
    case 'leases-released': {
      if (!isString(o['replica']) || !isStringArray(o['nodeIds']))
        return fail('leases-released event lacks replica or nodeIds');
      return { ok: true, value: { type: 'leases-released', replica: o['replica'], nodeIds: o['nodeIds'] } };
    }
    case 'nodes-removed': {
      if (!isStringArray(o['nodeIds'])) return fail('nodes-removed event has no nodeIds');
      return { ok: true, value: { type: 'nodes-removed', nodeIds: o['nodeIds'] } };
    }
    case 'reload-request': {
      const { id, origin, by, at } = o;
      if (!isString(id) || !isString(origin) || !isString(by) || !isNumber(at))
        return fail('reload-request event lacks id, origin, by or at');
      return { ok: true, value: { type: 'reload-request', id, origin, by, at } };
    }
    default:
      return fail(`unknown event type ${JSON.stringify(o['type'] ?? null).slice(0, 40)}`);
  }
}

// --- record changes (the records feed) --------------------------------------------------------

/**
 * Which record a change applies to: its observedAt, writtenAt and writer. A receiver applies a
 * change only onto exactly that record; any other (missed an event, joined late, another
 * writer's record in between) fetches the full record from the store instead.
 */
export type RecordStamp = readonly [observedAt: number, writtenAt: number, replica: string];

/** One entry of a records event that carries a record as the difference from the one before. */
export interface RecordChange {
  readonly nodeId: string;
  readonly base: RecordStamp;
  /** observedAt of the record this change makes (read without applying it). */
  readonly observedAt: number;
  readonly patch: Json;
  /** 1: a diff of the record (diffJson); 2: compact (encodeRecordEntry); 'unknown': never applied, read whole. */
  readonly format: 1 | 2 | 'unknown';
}

export function recordStamp(record: NodeRecord): RecordStamp {
  return [Math.floor(record.sample.observedAt), record.writtenAt, record.replica];
}

export function sameStamp(record: NodeRecord, stamp: RecordStamp): boolean {
  return (
    Math.floor(record.sample.observedAt) === stamp[0] && record.writtenAt === stamp[1] && record.replica === stamp[2]
  );
}

const DELETED = '$del';

function isPlain(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (isPlain(a) && isPlain(b)) return diffJson(a, b) === undefined;
  return false;
}

/**
 * What changed from `a` to `b` (both plain JSON objects): changed or added keys with their new
 * value (nested objects as their own difference, arrays and scalars whole), removed keys listed
 * under `$del`; undefined when nothing changed. Unlike a JSON merge patch it keeps `null`
 * values (health holds many). Record keys never begin with `$`.
 */
export function diffJson(a: Json, b: Json): Json | undefined {
  let out: Json | undefined;
  for (const k in b) {
    const bv = b[k];
    if (bv === undefined) continue;
    const av = a[k];
    if (av === bv) continue;
    let d: unknown;
    if (isPlain(av) && isPlain(bv)) {
      d = diffJson(av, bv);
      if (d === undefined) continue;
    } else if (sameJson(av, bv)) {
      continue;
    } else {
      d = bv;
    }
    (out ??= {})[k] = d;
  }
  for (const k in a) {
    if (a[k] !== undefined && b[k] === undefined) {
      out ??= {};
      ((out[DELETED] ??= []) as string[]).push(k);
    }
  }
  return out;
}

/** `base` with `patch` applied (see diffJson). Untouched branches are shared with `base`, never copied. */
export function applyDiff(base: Json, patch: Json): Json {
  const out: Json = { ...base };
  for (const k in patch) {
    if (k === DELETED) continue;
    const pv = patch[k];
    const bv = base[k];
    out[k] = isPlain(pv) && isPlain(bv) ? applyDiff(bv, pv) : pv;
  }
  const del = patch[DELETED];
  if (Array.isArray(del)) for (const k of del) if (typeof k === 'string') delete out[k];
  return out;
}

/** The record fields a change carries (recordToJson without `v` and the leading observedAt). */
function recordBody(record: NodeRecord): Json {
  return {
    nodeId: record.nodeId,
    chain: record.chain,
    sample: withoutPeerList(record.sample),
    health: record.health,
    replica: record.replica,
    writtenAt: record.writtenAt,
  };
}

/**
 * The format of the compact change (`"f":2` in a `c` entry). A version-1 receiver reads such an
 * entry as a change whose base it never holds (its base names the empty replica), so it reads
 * the record whole from the store: it re-reads, never mis-applies. A receiver that meets a
 * format it does not know does the same (see RecordChange.format).
 */
export const CHANGE_FORMAT = 2;

/**
 * The records-event entry that turns `base` into `record`: a change when it is smaller than
 * the whole record JSON `json`, else `json` itself. A probe of a steady node changes its
 * sample's timings and heights and the judge's counters, not its state or reasons.
 *
 * `from`: the replica publishing the event. When the base is its own record (the usual case:
 * `sent` forgets a node whose record another replica wrote), the change is compact (format 2):
 * diffed not against the base but against the base with its observedAt moved to the new one
 * (`shiftStamps`: the judge's ten or so timestamps that equal the sample's), with the
 * timestamps left in it relative to the new observedAt, arrays that slid by a few items (the
 * outcome window) as the items added, keys the base has named by their place in its sorted
 * keys, and the base named by offsets. Otherwise a format-1 change.
 */
export function encodeRecordEntry(
  record: NodeRecord,
  json: string,
  base: NodeRecord | undefined,
  from?: string,
): string {
  if (base === undefined || base.nodeId !== record.nodeId) return json;
  const at = Math.floor(record.sample.observedAt);
  const [baseAt, baseWritten, baseReplica] = recordStamp(base);
  let entry: string;
  if (from !== undefined && baseReplica === from && Number.isSafeInteger(at) && Number.isSafeInteger(baseWritten)) {
    const patch = diffCompact(recordBody(base), recordBody(record), at, baseAt) ?? {};
    // base: [new observedAt - base's, base's writtenAt - base's observedAt, '']: the replica is
    // the event's `from`; the empty one keeps a version-1 receiver from ever applying it.
    entry = `{"c":1,"f":${CHANGE_FORMAT},"observedAt":${at},"nodeId":${JSON.stringify(record.nodeId)},"base":[${at - baseAt},${baseWritten - baseAt},""],"patch":${JSON.stringify(patch)}}`;
  } else {
    const patch = diffJson(recordBody(base) as Json, recordBody(record) as Json) ?? {};
    entry = `{"c":1,"observedAt":${at},"nodeId":${JSON.stringify(record.nodeId)},"base":${JSON.stringify(recordStamp(base))},"patch":${JSON.stringify(patch)}}`;
  }
  return entry.length < json.length ? entry : json;
}

/**
 * `x` with every number equal to `from` replaced by `to`, sharing every branch that holds none.
 * Both ends of a compact change compute it from the same base, so what it predicts wrongly
 * (a number that equalled the old observedAt by chance) the patch sets back: exact either way.
 */
export function shiftStamps(x: unknown, from: number, to: number): unknown {
  if (typeof x === 'number') return x === from ? to : x;
  if (from === to || typeof x !== 'object' || x === null) return x;
  if (Array.isArray(x)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < x.length; i++) {
      const xv: unknown = x[i];
      if (typeof xv === 'number' ? xv !== from : typeof xv !== 'object' || xv === null) continue;
      const v = shiftStamps(xv, from, to);
      if (v !== xv) (out ??= x.slice())[i] = v;
    }
    return out ?? x;
  }
  let out: Json | undefined;
  const o = x as Json;
  for (const k in o) {
    const ov = o[k];
    // Only objects and the one number can change: the rest need no call.
    if (typeof ov === 'number' ? ov !== from : typeof ov !== 'object' || ov === null) continue;
    const v = shiftStamps(ov, from, to);
    if (v !== ov) (out ??= { ...o })[k] = v;
  }
  return out ?? x;
}

/** Timestamps (epoch ms) near the new observedAt travel as their offset from it, under `$t`. */
const RELATIVE = '$t';
/** An array that lost its first `k` items and gained some at its end: `[k, ...added]`. */
const APPENDED = '$ap';
/** An array that kept its first `n` items behind some new ones: `[n, ...added]`. */
const PREPENDED = '$pp';
/** How far an array may slide and still travel as its new items (the outcome window slides by one a probe). */
const MAX_SLIDE = 8;

function isStamp(v: unknown, at: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 1e11 && Math.abs(v - at) < 1e10;
}

/** A value of the base as the receiver predicts it: `from` (the base's observedAt) read as `to`. */
const shifted = (v: unknown, from: number, to: number): unknown => (v === from ? to : v);

/** sameJson(shiftStamps(a, from, to), b) without building the shifted copy. */
function sameShifted(a: unknown, b: unknown, from: number, to: number): boolean {
  if (typeof a !== 'object' || a === null) return shifted(a, from, to) === b;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameShifted(a[i], b[i], from, to)) return false;
    return true;
  }
  if (!isPlain(b)) return false;
  const o = a as Json;
  for (const k in b) {
    const bv = b[k];
    if (bv !== undefined && !sameShifted(o[k], bv, from, to)) return false;
  }
  for (const k in o) if (o[k] !== undefined && b[k] === undefined) return false;
  return true;
}

function sameItems(
  a: readonly unknown[],
  ai: number,
  b: readonly unknown[],
  bi: number,
  n: number,
  from: number,
  to: number,
): boolean {
  for (let i = 0; i < n; i++) if (!sameShifted(a[ai + i], b[bi + i], from, to)) return false;
  return true;
}

/** `b` as the items the shifted `a` slid by (see APPENDED, PREPENDED), or undefined when it did not. */
function slide(a: readonly unknown[], b: readonly unknown[], from: number, to: number): Json | undefined {
  for (let k = 0; k <= MAX_SLIDE && k < a.length; k++) {
    const kept = a.length - k;
    if (kept <= b.length && sameItems(a, k, b, 0, kept, from, to)) return { [APPENDED]: [k, ...b.slice(kept)] };
  }
  for (let k = 1; k <= MAX_SLIDE && k < a.length; k++) {
    const kept = a.length - k;
    const added = b.length - kept;
    if (added >= 0 && sameItems(a, 0, b, added, kept, from, to)) return { [PREPENDED]: [kept, ...b.slice(0, added)] };
  }
  return undefined;
}

/**
 * The keys of `o` that hold a value, sorted: a compact patch names a key the base has by its
 * place here (`$3`), not by its name. Sorted, so writer and receiver agree whatever order their
 * copies of the base were built in.
 */
export function keyIndex(o: Json): string[] {
  const keys: string[] = [];
  // Insertion sort by code units (what sort() does for strings): a record's objects hold a few
  // dozen keys at most, and sort()'s string conversions were the receiver's largest share.
  for (const k in o) {
    if (o[k] === undefined) continue;
    let i = keys.length;
    keys.push(k);
    while (i > 0 && keys[i - 1]! > k) {
      keys[i] = keys[i - 1]!;
      i--;
    }
    keys[i] = k;
  }
  return keys;
}

/** The place of `k` (a key of `o` that holds a value) in keyIndex(o), counted without sorting. */
function placeOf(o: Json, k: string): number {
  let n = 0;
  for (const j in o) if (j < k && o[j] !== undefined) n++;
  return n;
}

/** Names of the first places (`$0`..`$63`), made once: a patch names a few dozen keys per probe. */
const PLACE_NAMES: readonly string[] = Array.from({ length: 64 }, (_, i) => `$${i}`);

/**
 * How a compact patch names key `k` of the base `a`: by its place when the base has it, else by
 * its name. A plain function, not a closure over `a` per call: the closure and its context were
 * two fifths of the bytes a diff allocated (5.3 -> 3.0 KB per steady record).
 */
function nameIn(a: Json, k: string): string {
  if (a[k] === undefined) return k;
  const n = placeOf(a, k);
  return n < PLACE_NAMES.length ? PLACE_NAMES[n]! : `$${n}`;
}

/**
 * diffCompact(shiftStamps(a, from, at), b): what the receiver, which predicts the base's
 * timestamps moved from `from` to `at`, needs to rebuild `b`. Keys by place, timestamps relative
 * to `at` (RELATIVE), slid arrays as their new items. The base is read shifted on the fly, never
 * copied.
 */
function diffCompact(a: Json, b: Json, at: number, from: number): Json | undefined {
  let out: Json | undefined;
  for (const k in b) {
    const bv = b[k];
    if (bv === undefined) continue;
    const av = a[k];
    if (av === bv && (typeof av !== 'object' || av === null) && av !== from) continue;
    if (isPlain(av) && isPlain(bv)) {
      const d = diffCompact(av, bv, at, from);
      if (d !== undefined) (out ??= {})[nameIn(a, k)] = d;
    } else if (isStamp(bv, at)) {
      if (shifted(av, from, at) === bv) continue;
      ((out ??= {})[RELATIVE] ??= {} as Json) as Json;
      (out[RELATIVE] as Json)[nameIn(a, k)] = bv - at;
    } else if (Array.isArray(av) && Array.isArray(bv)) {
      if (sameShifted(av, bv, from, at)) continue;
      (out ??= {})[nameIn(a, k)] = slide(av, bv, from, at) ?? bv;
    } else if (!sameShifted(av, bv, from, at)) {
      (out ??= {})[nameIn(a, k)] = bv;
    }
  }
  for (const k in a) {
    if (a[k] !== undefined && b[k] === undefined) {
      out ??= {};
      ((out[DELETED] ??= []) as string[]).push(k);
    }
  }
  return out;
}

const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/** The place `$<digits>` names (see diffCompact), or -1 when `p` is a key's own name; too many digits name no place. */
function placeIn(p: string): number {
  const n = p.length;
  if (n < 2 || p.charCodeAt(0) !== 36 /* $ */) return -1;
  if (n > 16) return Number.MAX_SAFE_INTEGER;
  let v = 0;
  for (let i = 1; i < n; i++) {
    const d = p.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * `shiftStamps(base, from, at)` with a compact patch applied (see diffCompact), in one pass so a
 * patched branch is copied once, not shifted and then copied again; undefined when the patch
 * does not fit `base`. The patched keys are kept in two small arrays, not a Map: a steady
 * change patches a handful of keys per object, and the Map's allocation and lookups were a
 * fifth of a receiver's time on a real feed (issue #16).
 */
function applyCompact(base: Json, patch: Json, at: number, from: number): Json | undefined {
  // The base's sorted keys, made at the first place named (a plain variable, not a closure
  // per call: one call per patched object of every change received).
  let index: string[] | undefined;
  const keys: string[] = [];
  const values: unknown[] = [];
  for (const p in patch) {
    if (p === DELETED || p === RELATIVE) continue;
    const place = placeIn(p);
    const k = place < 0 ? p : (index ??= keyIndex(base))[place];
    if (k === undefined) return undefined;
    // A key named twice (by name and by place) keeps its last value, as Map.set did.
    const seen = keys.indexOf(k);
    if (seen < 0) {
      keys.push(k);
      values.push(patch[p]);
    } else values[seen] = patch[p];
  }
  const out: Json = { ...base };
  for (const k in base) {
    const v = base[k];
    if (typeof v === 'object' && v !== null) {
      if (keys.indexOf(k) >= 0) continue;
      const shifted = shiftStamps(v, from, at);
      if (shifted !== v) out[k] = shifted;
    } else if (v === from && keys.indexOf(k) < 0) out[k] = at;
  }
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const pv = values[i];
    const bv = base[k];
    if (isPlain(pv) && Array.isArray(bv) && (APPENDED in pv || PREPENDED in pv)) {
      const op = (pv[APPENDED] ?? pv[PREPENDED]) as unknown;
      if (!Array.isArray(op) || !isCount(op[0]) || op[0] > bv.length) return undefined;
      const n = op[0];
      const kept = shiftStamps(bv, from, at) as unknown[];
      out[k] = APPENDED in pv ? [...kept.slice(n), ...op.slice(1)] : [...op.slice(1), ...kept.slice(0, n)];
    } else if (isPlain(pv) && isPlain(bv)) {
      const d = applyCompact(bv, pv, at, from);
      if (d === undefined) return undefined;
      out[k] = d;
    } else {
      out[k] = pv;
    }
  }
  const rel = patch[RELATIVE];
  if (rel !== undefined) {
    if (!isPlain(rel)) return undefined;
    for (const p in rel) {
      const place = placeIn(p);
      const k = place < 0 ? p : (index ??= keyIndex(base))[place];
      const d = rel[p];
      if (k === undefined || !Number.isSafeInteger(d)) return undefined;
      out[k] = at + (d as number);
    }
  }
  const del = patch[DELETED];
  if (Array.isArray(del)) for (const k of del) if (typeof k === 'string') delete out[k];
  return out;
}

/** `from`: the replica that published the event (a compact change's base is its own record). */
function changeFromJson(o: Json, from: string | undefined): Decoded<RecordChange> {
  const { nodeId, base, observedAt, patch, f } = o;
  if (
    !isString(nodeId) ||
    !isNumber(observedAt) ||
    !isPlain(patch) ||
    !Array.isArray(base) ||
    base.length !== 3 ||
    !isNumber(base[0]) ||
    !isNumber(base[1]) ||
    !isString(base[2])
  ) {
    return fail('record change lacks nodeId, observedAt, base or patch');
  }
  if (f === undefined)
    return { ok: true, value: { nodeId, observedAt, base: [base[0], base[1], base[2]], patch, format: 1 } };
  if (f !== CHANGE_FORMAT || from === undefined) {
    // A format this receiver does not know (a newer writer during a rolling upgrade), or no
    // writer named: never applied, the record is read whole.
    return { ok: true, value: { nodeId, observedAt, base: [0, 0, ''], patch, format: 'unknown' } };
  }
  const baseAt = observedAt - base[0];
  return { ok: true, value: { nodeId, observedAt, base: [baseAt, baseAt + base[1], from], patch, format: 2 } };
}

/** The record a change makes from `base` (the receiver checked `sameStamp` first). */
export function applyRecordChange(base: NodeRecord, change: RecordChange): Decoded<NodeRecord> {
  let body: Json | undefined;
  if (change.format === 1) body = applyDiff(recordBody(base) as Json, change.patch);
  else if (change.format === 2) {
    body = applyCompact(recordBody(base) as Json, change.patch, change.observedAt, change.base[0]);
  }
  if (body === undefined) return fail('record change does not fit the record it names');
  const d = recordFromJson({ v: FORMAT_VERSION, ...body });
  if (d.ok && d.value.nodeId !== change.nodeId) return fail('record change belongs to another node id');
  return d;
}
