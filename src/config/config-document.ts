// A parsed YAML or JSON config file, with where each key sits (for errors that name a line).
import { extname } from 'node:path';
import YAML, { LineCounter, isAlias, isMap, isScalar, isSeq, type Document } from 'yaml';
import type { ConfigIssue } from './config-error.js';
import { findJsonSyntaxError, lineAndColumn } from './json-syntax-error.js';

export type ConfigFormat = 'yaml' | 'json';

export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** A parsed configuration file: its plain data, and where each key sits in the text. */
export interface ConfigDocument {
  readonly format: ConfigFormat;
  /** `undefined` for a YAML file with no content (only comments, or nothing at all). */
  readonly data: unknown;
  /**
   * Position of the value at `path` or, given `key`, of that key in the mapping at `path`. A path
   * that does not exist (a missing key) gives the position of its deepest existing ancestor.
   */
  locate(path: readonly PropertyKey[], key?: string): SourcePosition | undefined;
}

export type ParsedText = { readonly ok: true; readonly document: ConfigDocument } | { readonly ok: false; readonly issues: ConfigIssue[] };

/** `.yaml`/`.yml` -> YAML, `.json` -> JSON, anything else: JSON if it parses as JSON, else YAML. */
export function formatForFile(file: string): ConfigFormat | undefined {
  const ext = extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.json') return 'json';
  return undefined;
}

/**
 * Parse a configuration text. Syntax errors come back as issues with a line and column and a
 * reason of our own or the parser's first line: never the parser's code frame, which quotes the
 * source and so could quote a password.
 */
export function parseConfigText(rawText: string, file: string): ParsedText {
  // A BOM is invisible in editors and JSON.parse rejects it.
  const text = rawText.startsWith('\uFEFF') ? rawText.slice(1) : rawText;
  const format = formatForFile(file);
  if (format === 'yaml') return parseYaml(text);
  if (format === 'json') return parseJson(text);
  const asJson = parseJson(text);
  if (asJson.ok) return asJson;
  const asYaml = parseYaml(text);
  if (asYaml.ok) return asYaml;
  // Neither: report in the language the file looks like it was meant to be in.
  return /^\s*[[{]/.test(text) ? asJson : asYaml;
}

function parseYaml(text: string): ParsedText {
  const lineCounter = new LineCounter();
  // Merge keys (`<<: *anchor`) let a large fleet share settings between nodes.
  const doc = YAML.parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    return {
      ok: false,
      issues: problems.slice(0, 20).map((err) => {
        const pos = lineCounter.linePos(err.pos[0]);
        return { path: '', message: `YAML syntax error: ${firstLine(err.message)}`, line: pos.line, column: pos.col };
      }),
    };
  }
  let data: unknown;
  try {
    data = doc.contents === null ? undefined : doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    // toJS fails on alias bombs; its messages do not quote values.
    return { ok: false, issues: [{ path: '', message: `YAML error: ${firstLine((err as Error).message)}` }] };
  }
  return { ok: true, document: { format: 'yaml', data, locate: locator(doc, lineCounter) } };
}

function parseJson(text: string): ParsedText {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    const found = findJsonSyntaxError(text);
    const pos = found ? lineAndColumn(text, found.offset) : undefined;
    return { ok: false, issues: [{ path: '', message: `JSON syntax error: ${found?.reason ?? 'not valid JSON'}`, ...(pos ?? {}) }] };
  }
  // JSON is YAML 1.2, so the YAML parser gives us positions for free, and it notices the
  // duplicate keys that JSON.parse silently resolves to the last one.
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const duplicates = doc.errors.filter((err) => err.code === 'DUPLICATE_KEY');
  if (duplicates.length > 0) {
    return {
      ok: false,
      issues: duplicates.map((err) => {
        const pos = lineCounter.linePos(err.pos[0]);
        return { path: '', message: 'JSON error: duplicate key in an object', line: pos.line, column: pos.col };
      }),
    };
  }
  const locate = doc.errors.length === 0 ? locator(doc, lineCounter) : () => undefined;
  return { ok: true, document: { format: 'json', data, locate } };
}

function firstLine(message: string): string {
  const line = message.split('\n', 1)[0] ?? '';
  return line.replace(/ at line \d+, column \d+:?$/, '').trim();
}

function locator(doc: Document, lineCounter: LineCounter): ConfigDocument['locate'] {
  const positionOf = (node: unknown): SourcePosition | undefined => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (!range) return undefined;
    const pos = lineCounter.linePos(range[0]);
    return { line: pos.line, column: pos.col };
  };
  const pairIn = (map: unknown, key: string) => {
    if (!isMap(map)) return undefined;
    return map.items.find((pair) => isScalar(pair.key) && String(pair.key.value) === key);
  };
  return (path, key) => {
    let node: unknown = doc.contents;
    let best = positionOf(node);
    for (const segment of path) {
      if (isAlias(node)) node = node.resolve(doc);
      let next: unknown;
      if (isSeq(node) && typeof segment === 'number') next = node.items[segment];
      else if (isMap(node)) {
        const pair = pairIn(node, String(segment));
        // `key:` with nothing after it has no value node: point at the key.
        next = pair?.value ?? pair?.key;
      }
      if (next === undefined || next === null) return best;
      node = next;
      best = positionOf(node) ?? best;
    }
    if (key === undefined) return best;
    if (isAlias(node)) node = node.resolve(doc);
    return positionOf(pairIn(node, key)?.key) ?? best;
  };
}
