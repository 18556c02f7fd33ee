/**
 * Where a JSON text first goes wrong. `JSON.parse` only sometimes reports a position, and its
 * other messages quote a slice of the text, which may hold a password (`"url": "http://u:pw@..."`),
 * so we never show them: this small validator walks the RFC 8259 grammar and reports the offset
 * and a reason of its own.
 * https://www.rfc-editor.org/rfc/rfc8259
 */
export interface JsonSyntaxError {
  /** 0-based offset into the text. */
  readonly offset: number;
  readonly reason: string;
}

export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let i = 0;

  class Stop extends Error {
    constructor(readonly at: number, readonly reason: string) {
      super(reason);
    }
  }
  // Annotated so that TypeScript treats every call as the end of the path.
  const fail: (reason: string, at?: number) => never = (reason, at = i) => {
    throw new Stop(at, reason);
  };
  const describe = (at: number): string => {
    const ch = text[at];
    if (ch === undefined) return 'unexpected end of input';
    // Structural characters are safe to show; anything else may be part of a secret.
    return /[{}[\]:,"]/.test(ch) ? `unexpected '${ch}'` : 'unexpected character';
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(describe(i));
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      const ch = text[i];
      if (ch === undefined) fail('unterminated string');
      if (ch === '"') {
        i++;
        return;
      }
      if (ch === '\\') {
        const esc = text[i + 1];
        if (esc !== undefined && '"\\/bfnrt'.includes(esc)) i += 2;
        else if (esc === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else fail('invalid escape sequence in string');
        continue;
      }
      if ((ch as string).charCodeAt(0) < 0x20) fail('control character in string (line breaks must be written \\n)');
      i++;
    }
  };
  const number = (): void => {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === '' || m[0] === '-') fail('invalid number');
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (depth: number): void => {
    if (depth > 512) fail('nesting too deep');
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(text[i] === '}' ? "trailing comma before '}'" : 'expected a double-quoted property name');
        string();
        ws();
        if (text[i] !== ':') fail("expected ':' after property name");
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail(text[i] === undefined ? 'unexpected end of input' : "expected ',' or '}' after property value");
      }
    }
    if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] === ']') fail("trailing comma before ']'");
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail(text[i] === undefined ? 'unexpected end of input' : "expected ',' or ']' after array element");
      }
    }
    if (ch === '"') return string();
    if (ch === 't') return literal('true');
    if (ch === 'f') return literal('false');
    if (ch === 'n') return literal('null');
    if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) return number();
    fail(describe(i));
  };

  try {
    value(0);
    ws();
    if (i < text.length) fail(`${describe(i)} after the end of the document`);
    return undefined;
  } catch (err) {
    if (err instanceof Stop) return { offset: err.at, reason: err.reason };
    throw err;
  }
}

/** 1-based line and column of a 0-based offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text[k] === '\n') {
      line++;
      start = k + 1;
    }
  }
  return { line, column: offset - start + 1 };
}
