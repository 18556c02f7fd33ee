import { docBlock } from './lb-kit.js';

/**
 * HAProxy configurations built from the snippets of docs/load-balancers.md, as read at test
 * time. Only addresses change: `10.0.0.9` / `8080` / `9100` become the running nodesentry, each
 * `server` line's `10.0.x.y:8545` the simulated node named like the server, `bind :8545` a free
 * loopback port. More nodes get the doc's own `server` line with the name replaced.
 */

export interface Where {
  readonly nodesentryPort: number;
  readonly agentPort: number;
  /** Port of each simulated node, by node id. */
  readonly nodePorts: ReadonlyMap<string, number>;
}

export interface BackendNodes {
  readonly primaries: readonly string[];
  readonly backups: readonly string[];
}

const SERVER_LINE = /^\s*server\s+(\S+)\s+(\S+)(.*)$/;

function nodesentryAddresses(text: string, w: Where): string {
  return text
    .replace(/\baddr 10\.0\.0\.9 port 8080\b/g, `addr 127.0.0.1 port ${w.nodesentryPort}`)
    .replace(/\bagent-addr 10\.0\.0\.9 agent-port 9100\b/g, `agent-addr 127.0.0.1 agent-port ${w.agentPort}`);
}

/** A `server` line of the doc, made into one for `id`: the doc's name replaced everywhere in the line, the address the node's. */
function serverLine(template: string, id: string, w: Where): string {
  const m = SERVER_LINE.exec(template);
  if (!m) throw new Error(`not a server line: ${template}`);
  const [, name, address] = m as unknown as [string, string, string];
  const port = w.nodePorts.get(id);
  if (port === undefined) throw new Error(`no simulated node ${id}`);
  return nodesentryAddresses(template.split(name).join(id).replace(address, `127.0.0.1:${port}`), w);
}

/**
 * A backend snippet with its servers replaced: every non-`server` line as in the doc (comments
 * dropped), then the doc's first plain `server` line for each primary and its `backup` line for
 * each backup. `rename` gives the backend another name (two forms of `backend bsc` in one file).
 */
export function backendFromDoc(marker: string, nodes: BackendNodes, w: Where, rename?: string): string {
  const lines = docBlock('haproxy', marker).split('\n');
  const servers = lines.filter((l) => SERVER_LINE.test(l));
  const primary = servers.find((l) => !/\sbackup\b/.test(l));
  const backup = servers.find((l) => /\sbackup\b/.test(l));
  if (!primary || (nodes.backups.length > 0 && !backup))
    throw new Error(`the doc's backend with ${marker} lacks a primary or a backup server line`);
  const head = lines
    .filter((l) => !SERVER_LINE.test(l) && !/^\s*#/.test(l) && l.trim() !== '')
    .map((l) => (rename && /^backend\s/.test(l) ? `backend ${rename}` : nodesentryAddresses(l, w)));
  return (
    [
      ...head,
      ...nodes.primaries.map((id) => serverLine(primary, id, w)),
      ...nodes.backups.map((id) => serverLine(backup!, id, w)),
    ].join('\n') + '\n'
  );
}

/** The doc's `defaults` and `frontend`, the frontend bound to `port` (more frontends: `extraFrontends`, name -> [port, backend]). */
export function defaultsFromDoc(
  port: number,
  extraFrontends: ReadonlyArray<readonly [string, number, string]> = [],
): string {
  const block = docBlock('haproxy', 'retry-on');
  const i = block.indexOf('frontend ');
  if (i < 0) throw new Error("the doc's defaults snippet has no frontend");
  const defaults = block.slice(0, i);
  const frontend = block.slice(i).replace(/\bbind :8545\b/, `bind 127.0.0.1:${port}`);
  if (frontend === block.slice(i)) throw new Error("the doc's frontend does not bind :8545");
  const extra = extraFrontends.map(([name, p, backend]) =>
    block
      .slice(i)
      .replace(/^frontend \S+/m, `frontend ${name}`)
      .replace(/\bbind :8545\b/, `bind 127.0.0.1:${p}`)
      .replace(/default_backend \S+/, `default_backend ${backend}`),
  );
  return [defaults, frontend, ...extra].join('\n');
}

/** The doc's classic `option httpchk OPTIONS /probe/nodes/<id>` backend, for node `id`. */
export function classicBackendFromDoc(id: string, w: Where): string {
  const block = docBlock('haproxy', 'option httpchk OPTIONS');
  const name = /^backend (\S+)/m.exec(block)?.[1];
  if (!name) throw new Error('the classic httpchk snippet has no backend');
  const lines = block
    .split(name)
    .join(id)
    .split('\n')
    .map((l) => (SERVER_LINE.test(l) ? l.replace(SERVER_LINE.exec(l)![2]!, `127.0.0.1:${w.nodePorts.get(id)}`) : l));
  return nodesentryAddresses(lines.join('\n'), w);
}
