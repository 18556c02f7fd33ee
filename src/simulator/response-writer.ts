// Writes simulated answers, including the broken ones (drip, truncated, oversized).
import type { ServerResponse } from 'node:http';
import type { HttpAnswer } from './http-answer.js';

/** Bytes per write for the `drip` fault: "a few bytes at a time". */
export const DRIP_CHUNK_BYTES = 16;
const PAD_CHUNK_BYTES = 64 * 1024;
const JSON_TYPE = 'application/json';

/** Resolves true after `ms`, or false if the simulator is closing (stop writing then). */
export type Sleep = (ms: number) => Promise<boolean>;

function headersFor(answer: HttpAnswer, length: number): Record<string, string | number> {
  // RFC 9110: no Content-Length on a 204.
  return answer.status === 204 ? { ...answer.headers } : { ...answer.headers, 'content-length': length };
}

export function writeAnswer(res: ServerResponse, answer: HttpAnswer): void {
  if (res.destroyed) return;
  const body = Buffer.from(answer.body, 'utf8');
  res.writeHead(answer.status, headersFor(answer, body.length));
  res.end(answer.status === 204 ? undefined : body);
}

/** 200 with a body that looks like JSON-RPC but does not parse: the reply cut before its last bracket. */
export function writeMalformed(res: ServerResponse, answer: HttpAnswer): void {
  const text = answer.body.trimEnd();
  const body = text.length > 1 ? `${text.slice(0, -1)}\n` : '{\n';
  writeAnswer(res, { status: 200, body, headers: { 'content-type': JSON_TYPE } });
}

/** 200 announcing the full length, half the body sent, then the socket destroyed. */
export function writeTruncated(res: ServerResponse, answer: HttpAnswer): void {
  if (res.destroyed) return;
  const body = Buffer.from(answer.body, 'utf8');
  const declared = Math.max(body.length, 2);
  res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': declared });
  res.flushHeaders();
  res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
}

/**
 * 200 with the real reply plus a `padding` member that brings it to about `bytes`: valid JSON
 * that a client with a body cap must refuse. Streamed, so a 100 MB reply costs 64 KB of memory.
 */
export async function writeOversized(res: ServerResponse, answer: HttpAnswer, bytes: number): Promise<void> {
  if (res.destroyed) return;
  const body = answer.body;
  let head: string;
  let tail: string;
  if (body.startsWith('[{')) {
    head = '[{"padding":"';
    tail = `",${body.slice(2)}`;
  } else if (body.startsWith('{')) {
    head = '{"padding":"';
    tail = `",${body.slice(1)}`;
  } else {
    head = '{"padding":"';
    tail = '"}\n';
  }
  const fixed = Buffer.byteLength(head) + Buffer.byteLength(tail);
  const padLen = Math.max(0, bytes - fixed);
  res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': fixed + padLen });
  res.write(head);
  const chunk = Buffer.alloc(Math.min(PAD_CHUNK_BYTES, Math.max(1, padLen)), 0x61);
  let left = padLen;
  while (left > 0) {
    if (res.destroyed) return;
    const n = Math.min(chunk.length, left);
    left -= n;
    if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!res.destroyed) res.end(tail);
}

/** The real reply with its real length, `DRIP_CHUNK_BYTES` every `intervalMs`. */
export async function writeDrip(
  res: ServerResponse,
  answer: HttpAnswer,
  intervalMs: number,
  sleep: Sleep,
): Promise<void> {
  if (res.destroyed) return;
  const body = Buffer.from(answer.body, 'utf8');
  res.writeHead(answer.status, headersFor(answer, body.length));
  if (answer.status === 204) {
    res.end();
    return;
  }
  // Send the headers now: a dripping server is one that has started answering.
  res.flushHeaders();
  for (let offset = 0; offset < body.length; offset += DRIP_CHUNK_BYTES) {
    if (offset > 0 && !(await sleep(intervalMs))) return;
    if (res.destroyed) return;
    res.write(body.subarray(offset, offset + DRIP_CHUNK_BYTES));
  }
  res.end();
}
