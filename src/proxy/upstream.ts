// Sends a client's body to one node, with its credentials, bounded.
import type { Dispatcher } from 'undici';
import type { NodeConfig } from '../config/node-config.js';
import { RpcHttpError } from '../errors/rpc-errors.js';
import { httpPost, type HttpPostResult } from '../rpc/http-post.js';
import { OutOfRangeError } from '../errors/argument-errors.js';

export interface UpstreamOptions {
  readonly dispatcher: Dispatcher;
  readonly maxResponseBytes: number;
}

/**
 * Sends a client's body to one node as it is, with the node's credentials and its secret URL
 * (`${VAR}` tokens filled in) added here and nowhere else, and returns the node's answer
 * whatever its status. Only the node's status, content type and body come back: none of the
 * node's headers reach the client. Failures before an answer reject with an RpcFailure.
 */
export class Upstream {
  readonly #o: UpstreamOptions;

  constructor(o: UpstreamOptions) {
    if (!(o.maxResponseBytes > 0)) throw new OutOfRangeError('maxResponseBytes must be > 0');
    this.#o = o;
  }

  async send(node: NodeConfig, body: string, timeoutMs: number): Promise<HttpPostResult> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    const creds = node.credentials;
    if (creds) headers.authorization = await creds.authorizationHeader();
    const post = () =>
      httpPost({
        url: node.requestUrl?.reveal() ?? node.url,
        body,
        headers,
        dispatcher: this.#o.dispatcher,
        timeoutMs,
        maxResponseBytes: this.#o.maxResponseBytes,
      });
    let res = await post();
    if (res.status === 401 && creds && creds.invalidate()) {
      // The node restarted and wrote a new .cookie; a 401 is answered before the body is read,
      // so the call did not run and sending it again is safe, writes included.
      headers.authorization = await creds.authorizationHeader();
      res = await post();
    }
    // Our credentials or address are refused: the node never ran the call. Nothing of its
    // (empty) answer is for the client.
    if (res.status === 401 || res.status === 403) throw new RpcHttpError(res.status);
    return res;
  }
}
