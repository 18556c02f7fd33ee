// Compression of a fast-path answer, negotiated and thresholded as express's compression middleware does it.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { brotliCompressSync, constants, deflateSync, gzipSync } from 'node:zlib';

/** Below this many bytes an answer goes out plain: the compression middleware's default threshold. */
export const COMPRESS_THRESHOLD_BYTES = 1024;

export type ContentEncoding = 'br' | 'gzip' | 'deflate';

/** What the middleware offers, in its order, and the ones it prefers on a tie (compression 1.8 on Node 20). */
const SUPPORTED = ['br', 'gzip', 'deflate', 'identity'] as const;
const PREFERRED: readonly string[] = ['br', 'gzip'];
const ENCODING = /^\s*([^\s;]+)\s*(?:;(.*))?$/;
/** As the middleware's brotli: quality 4, a balance of speed and size. */
const BROTLI = { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } };

interface Spec {
  readonly encoding: string;
  readonly q: number;
  readonly i: number;
}

interface Priority {
  readonly encoding: string;
  readonly i: number;
  readonly o: number;
  readonly q: number;
  readonly s: number;
}

/**
 * The encoding the compression middleware would choose for this `Accept-Encoding`, or
 * undefined for none (identity). A port of its negotiator (0.6.4, `preferredEncodings` with
 * the middleware's preferred list), so an answer moved out of express keeps its encoding.
 */
export function negotiateEncoding(header: string | undefined): ContentEncoding | undefined {
  // No header: the middleware enforces identity.
  if (!header) return undefined;
  const parts = header.split(',');
  const accepts: Spec[] = [];
  let hasIdentity = false;
  let minQ = 1;
  for (let i = 0; i < parts.length; i++) {
    const m = ENCODING.exec(parts[i]!.trim());
    if (m === null) continue;
    let q = 1;
    if (m[2] !== undefined) {
      for (const p of m[2].split(';')) {
        const kv = p.trim().split('=');
        if (kv[0] === 'q') {
          q = Number.parseFloat(kv[1] ?? '');
          break;
        }
      }
    }
    const spec = { encoding: m[1]!, q, i };
    accepts.push(spec);
    hasIdentity ||= specify('identity', spec, 0) !== undefined;
    minQ = Math.min(minQ, q || 1);
  }
  // Identity is acceptable unless said otherwise, at the lowest quality listed.
  if (!hasIdentity) accepts.push({ encoding: 'identity', q: minQ, i: parts.length });
  const priorities = SUPPORTED.map((enc, index) => {
    let p: Priority = { encoding: enc, i: index, o: -1, q: 0, s: 0 };
    for (const a of accepts) {
      const s = specify(enc, a, index);
      if (s !== undefined && (p.s - s.s || p.q - s.q || p.o - s.o) < 0) p = s;
    }
    return p;
  });
  const best = priorities.filter((p) => p.q > 0).sort(compare)[0]?.encoding;
  return best === undefined || best === 'identity' ? undefined : (best as ContentEncoding);
}

function specify(encoding: string, spec: Spec, index: number): Priority | undefined {
  let s = 0;
  if (spec.encoding.toLowerCase() === encoding.toLowerCase()) s |= 1;
  else if (spec.encoding !== '*') return undefined;
  return { encoding, i: index, o: spec.i, q: spec.q, s };
}

function compare(a: Priority, b: Priority): number {
  if (a.q !== b.q) return b.q - a.q;
  const ap = PREFERRED.indexOf(a.encoding);
  const bp = PREFERRED.indexOf(b.encoding);
  if (ap === -1 && bp === -1) return b.s - a.s || a.o - b.o || a.i - b.i;
  if (ap !== -1 && bp !== -1) return ap - bp;
  return ap === -1 ? 1 : -1;
}

export function compress(body: string, encoding: ContentEncoding): Buffer {
  switch (encoding) {
    case 'br':
      return brotliCompressSync(body, BROTLI);
    case 'gzip':
      return gzipSync(body);
    case 'deflate':
      return deflateSync(body);
  }
}

/** A rendered answer: its headers (with `vary` and the plain length) and body, made once and written often. */
export interface RenderedAnswer {
  readonly status: number;
  readonly headers: OutgoingHttpHeaders;
  readonly body: string;
  readonly length: number;
  /** Its compressed forms, filled as clients ask for them (an answer rendered once is compressed once). */
  readonly compressed?: Map<ContentEncoding, Buffer>;
}

/**
 * Write `a` as express's compression middleware would have: plain under the threshold and for
 * HEAD, else in the encoding the client's `Accept-Encoding` chooses. (The middleware streams a
 * compressed body chunked; here it is compressed at once and sent with its length.)
 */
export function writeAnswer(req: IncomingMessage, res: ServerResponse, a: RenderedAnswer): void {
  if (a.length >= COMPRESS_THRESHOLD_BYTES && req.method !== 'HEAD') {
    const encoding = negotiateEncoding(req.headers['accept-encoding']);
    if (encoding !== undefined) {
      let buf = a.compressed?.get(encoding);
      if (buf === undefined) {
        buf = compress(a.body, encoding);
        a.compressed?.set(encoding, buf);
      }
      res.writeHead(a.status, { ...a.headers, 'content-encoding': encoding, 'content-length': buf.length });
      res.end(buf);
      return;
    }
  }
  res.writeHead(a.status, a.headers);
  // Node drops the body of a HEAD answer itself; the length stays what a GET would get.
  res.end(a.body);
}
