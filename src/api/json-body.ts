// Reads and checks the small JSON bodies of admin requests.
import express, { type RequestHandler } from 'express';
import { problems } from './problem.js';

/** Largest admin request body, bytes: `{"reason": ...}` and `{"active": true}` need far less. */
export const MAX_BODY_BYTES = 8 * 1024;

/**
 * Parse an optional JSON request body: none at all is fine (`req.body` stays undefined); a body
 * of another type is a 415, invalid JSON a 400, more than `MAX_BODY_BYTES` a 413 (body-parser's
 * errors, turned into problems by the central error handler). Mount it after authentication,
 * so nobody unauthenticated gets a body read.
 */
export function jsonBody(): RequestHandler {
  const parse = express.json({ limit: MAX_BODY_BYTES, strict: true, inflate: false, type: () => true });
  return (req, res, next) => {
    const length = req.headers['content-length'];
    const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    if (!hasBody) return next();
    if (!req.is('application/json'))
      return next(problems.unsupportedMediaType('send the request body as application/json'));
    return parse(req, res, next);
  };
}

/** A request body that must be a JSON object (or absent), with only the keys listed. */
export function bodyObject(body: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (body === undefined) return {};
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw problems.badRequest('the request body must be a JSON object');
  const obj = body as Record<string, unknown>;
  const unknown = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    const shown = unknown.map((k) => (/^[A-Za-z0-9_.-]{1,40}$/.test(k) ? k : '(unprintable)')).join(', ');
    throw problems.badRequest(`unknown body member ${shown} (allowed: ${allowed.join(', ') || 'none'})`);
  }
  return obj;
}
