// Admin routes (bearer token): drain and undrain, setnetworkactive, fleet-wide reload; each audited.
import { Router, type Request } from 'express';
import type { Dispatcher } from 'undici';
import type { NodeConfig } from '../../config/node-config.js';
import { RpcErrorCode, RpcFailure } from '../../errors/rpc-errors.js';
import { CredentialsError } from '../../rpc/credentials.js';
import { createNodeDispatcher } from '../../rpc/dispatcher.js';
import { RpcClient } from '../../rpc/rpc-client.js';
import type { Drain } from '../../store/store.js';
import type { ApiContext } from '../api-context.js';
import { requireAdmin } from '../auth.js';
import { bodyObject, jsonBody } from '../json-body.js';
import { drainJson } from '../node-json.js';
import { problems } from '../problem.js';
import { QueryReader } from '../query.js';
import { ADMIN_LIMITS, DrainBody, NetworkBody } from '../schemas/admin.js';
import { storeCall } from '../store-call.js';

/**
 * Operator actions, behind the admin token: drain / undrain a node (persisted in the store, so
 * every replica and every load-balancer probe sees it), switch a Bitcoin-family node's P2P
 * networking, reload the nodes file, read the audit log. Each action is written to the audit
 * log and logged once, with who did it (`X-Operator`, else `admin`).
 */
export function adminRoutes(ctx: ApiContext): Router {
  const router = Router();
  const admin = requireAdmin(ctx.service.settings.adminToken);
  const body = jsonBody();
  let dispatcher: Dispatcher | undefined;
  let reloading = false;
  ctx.onClose(() => {
    void dispatcher?.close().catch(() => {});
    dispatcher = undefined;
  });

  const audit = async (entry: Record<string, unknown>): Promise<boolean> => {
    try {
      await ctx.service.store.appendAudit({ ...entry, replica: ctx.service.replica });
      return true;
    } catch (err) {
      ctx.logger.warn(
        { action: entry.action, error: (err as { code?: string }).code ?? 'error' },
        'could not write the audit log entry',
      );
      return false;
    }
  };

  router.post('/v1/nodes/:id/drain', admin, body, async (req, res) => {
    new QueryReader(req.url, []).done();
    const node = configOr404(ctx, req);
    const input = bodyObject(req.body, Object.keys(DrainBody.shape));
    const reason = optionalReason(input.reason);
    const by = operator(req);
    const at = ctx.now();
    const existing = ctx.service.view.drain(node.id);
    let drain: Drain;
    if (existing && (reason === undefined || existing.reason === reason)) {
      // Draining a drained node keeps who drained it and when.
      drain = existing;
    } else {
      drain = { nodeId: node.id, by, at, ...(reason !== undefined ? { reason } : {}) };
      // Stored first: a drain only this replica knows would not reach the other replicas'
      // load-balancer probes, and would be lost on restart.
      const fact = await storeCall('save the drain', () => ctx.service.store.setDrain(node.id, drain));
      ctx.service.view.applyDrainFact(fact);
    }
    const changed = drain !== existing;
    const audited = await audit({
      action: 'drain',
      nodeId: node.id,
      chain: node.chain.name,
      by,
      at,
      ...(reason !== undefined ? { reason } : {}),
      changed,
    });
    ctx.logger.info(
      { action: 'drain', node: node.id, chain: node.chain.name, by, reason: reason ?? null, changed },
      `admin: ${by} drained node ${node.id}${changed ? '' : ' (already drained)'}`,
    );
    res.status(200).json({
      nodeId: node.id,
      drained: true,
      changed,
      drain: drainJson(drain),
      state: ctx.read.node(node.id, ctx.now())?.health.state ?? null,
      audited,
    });
  });

  router.delete('/v1/nodes/:id/drain', admin, body, async (req, res) => {
    new QueryReader(req.url, []).done();
    const node = configOr404(ctx, req);
    bodyObject(req.body, []);
    const by = operator(req);
    const at = ctx.now();
    const existing = ctx.service.view.drain(node.id);
    if (existing) {
      const fact = await storeCall('remove the drain', () => ctx.service.store.setDrain(node.id, null));
      ctx.service.view.applyDrainFact(fact);
    }
    const changed = existing !== undefined;
    const audited = await audit({
      action: 'undrain',
      nodeId: node.id,
      chain: node.chain.name,
      by,
      at,
      changed,
      ...(existing ? { previous: drainJson(existing) } : {}),
    });
    ctx.logger.info(
      { action: 'undrain', node: node.id, chain: node.chain.name, by, changed },
      `admin: ${by} undrained node ${node.id}${changed ? '' : ' (was not drained)'}`,
    );
    res.status(200).json({
      nodeId: node.id,
      drained: false,
      changed,
      previous: existing ? drainJson(existing) : null,
      state: ctx.read.node(node.id, ctx.now())?.health.state ?? null,
      audited,
    });
  });

  router.post('/v1/nodes/:id/network', admin, body, async (req, res) => {
    new QueryReader(req.url, []).done();
    const node = configOr404(ctx, req);
    const input = NetworkBody.safeParse(bodyObject(req.body, Object.keys(NetworkBody.shape)));
    if (!input.success) throw problems.badRequest('the body must be {"active": true} or {"active": false}');
    const active = input.data.active;
    if (node.chain.family !== 'bitcoin') {
      throw problems.conflict(
        `node ${node.id} is an ${node.chain.family.toUpperCase()} node: only Bitcoin-family nodes (defid, paicoind, bitcoind) have setnetworkactive`,
      );
    }
    const by = operator(req);
    const at = ctx.now();
    dispatcher ??= createNodeDispatcher({ connectionsPerOrigin: 1, keepAliveTimeoutMs: 5_000 });
    const client = new RpcClient({
      url: node.requestUrl?.reveal() ?? node.url,
      dialect: 'bitcoin',
      dispatcher,
      credentials: node.credentials,
      timeoutMs: Math.max(node.timeoutMs, ADMIN_LIMITS.nodeCallMinTimeoutMs),
      maxResponseBytes: ctx.service.settings.maxResponseBytes,
      secrets: node.requestUrl?.secretParts(),
    });
    let result: unknown;
    try {
      result = await client.call('setnetworkactive', [active]);
    } catch (err) {
      const failure = nodeFailure(err);
      if (!failure) throw err;
      await audit({
        action: 'network',
        nodeId: node.id,
        chain: node.chain.name,
        by,
        at,
        active,
        ok: false,
        error: failure.code,
      });
      ctx.logger.warn(
        { action: 'network', node: node.id, by, active, error: failure.code },
        `admin: ${by} could not set network ${active ? 'on' : 'off'} on node ${node.id}: ${failure.code}`,
      );
      const extra = { nodeError: failure };
      throw failure.code === RpcErrorCode.Timeout
        ? problems.gatewayTimeout(`node ${node.id}: ${failure.message}`, extra)
        : problems.badGateway(`node ${node.id}: ${failure.message}`, extra);
    }
    const audited = await audit({
      action: 'network',
      nodeId: node.id,
      chain: node.chain.name,
      by,
      at,
      active,
      ok: true,
      result: typeof result === 'boolean' ? result : null,
    });
    ctx.logger.info(
      { action: 'network', node: node.id, chain: node.chain.name, by, active },
      `admin: ${by} set network ${active ? 'on' : 'off'} on node ${node.id}`,
    );
    res.status(200).json({
      nodeId: node.id,
      requested: { active },
      // defid and Core answer the new state; older versions answer null.
      result: result ?? null,
      networkActive: typeof result === 'boolean' ? result : null,
      note: "the node's state is confirmed by its next probe (networkactive, peers)",
      audited,
    });
  });

  router.post('/v1/admin/reload', admin, body, async (req, res) => {
    new QueryReader(req.url, []).done();
    bodyObject(req.body, []);
    if (!ctx.reload)
      throw problems.conflict(
        'this process has no nodes file to reload (it runs a fleet given in code, or the built-in simulated one)',
      );
    if (reloading) throw problems.conflict('a reload is already in progress');
    const by = operator(req);
    const at = ctx.now();
    reloading = true;
    let outcome;
    try {
      outcome = await ctx.reload(by);
    } finally {
      reloading = false;
    }
    if (!outcome.ok) {
      await audit({ action: 'reload', by, at, ok: false, errors: outcome.errors.length, ...request(outcome) });
      ctx.logger.warn(
        { action: 'reload', by, errors: outcome.errors.length },
        `admin: ${by} asked for a reload; the configuration was refused, the running one stays`,
      );
      throw problems.unprocessable('the nodes file is invalid; the running configuration stays', {
        errors: outcome.errors,
      });
    }
    const { added, removed, changed } = outcome;
    const audited = await audit({ action: 'reload', by, at, ok: true, added, removed, changed, ...request(outcome) });
    ctx.logger.info(
      { action: 'reload', by, added: added.length, removed: removed.length, changed: changed.length },
      `admin: ${by} reloaded the configuration`,
    );
    // The other replicas re-read their own files on the fleet-wide request; their outcomes are
    // audited under its id (GET /v1/admin/audit), since they arrive after this answer.
    res
      .status(200)
      .json({ ok: true, added, removed, changed, nodes: ctx.service.nodes.size, audited, ...request(outcome) });
  });

  router.get('/v1/admin/audit', admin, async (req, res) => {
    const q = new QueryReader(req.url, ['limit']);
    const limit = q.int('limit', 1, ADMIN_LIMITS.auditMaxLimit, ADMIN_LIMITS.auditDefaultLimit);
    q.done();
    const items = await storeCall('read the audit log', () => ctx.service.store.getAudit(limit));
    res.status(200).set('cache-control', 'no-store').json({ items, limit });
  });

  return router;
}

function configOr404(ctx: ApiContext, req: Request): NodeConfig {
  const id = String(req.params.id ?? '');
  const node = ctx.read.config(id);
  if (!node)
    throw problems.notFound(
      'node',
      /^[A-Za-z0-9._-]{1,64}$/.test(id)
        ? `no node with id "${id}" is configured`
        : 'no node with this id is configured',
    );
  return node;
}

/**
 * Who acted, from `X-Operator`: free text from the client, so only a short run of plain
 * characters is kept (it ends up in logs and in every replica's audit view).
 */
export function operator(req: Request): string {
  const raw = req.get('x-operator');
  if (typeof raw !== 'string') return 'admin';
  const clean = raw
    .replace(/[^A-Za-z0-9._@+ -]/g, '')
    .trim()
    .replace(/\s+/g, ' ')
    .slice(0, ADMIN_LIMITS.operatorMaxLength)
    .trim();
  return clean === '' ? 'admin' : clean;
}

function optionalReason(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw problems.badRequest('reason must be a string');
  // Control characters would forge log lines and break terminals that show the audit log.
  // eslint-disable-next-line no-control-regex -- the control characters are what is removed
  const clean = value.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').trim();
  if (clean.length > ADMIN_LIMITS.reasonMaxLength)
    throw problems.badRequest(`reason must be at most ${ADMIN_LIMITS.reasonMaxLength} characters`);
  return clean === '' ? undefined : clean;
}

/** A node-side failure as it may be shown: stable code, credential-free message. */
function nodeFailure(
  err: unknown,
): { code: string; message: string; rpcCode?: number; httpStatus?: number } | undefined {
  if (err instanceof RpcFailure) {
    return {
      code: err.code,
      message: err.shortMessage,
      ...(err.rpcCode !== undefined ? { rpcCode: err.rpcCode } : {}),
      ...(err.httpStatus !== undefined ? { httpStatus: err.httpStatus } : {}),
    };
  }
  if (err instanceof CredentialsError) return { code: err.code, message: err.message };
  return undefined;
}

/** The fleet-wide request id of a reload, when it reached the other replicas. */
function request(outcome: { readonly request?: string }): { request?: string } {
  return outcome.request === undefined ? {} : { request: outcome.request };
}
