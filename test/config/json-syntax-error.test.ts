import fc from 'fast-check';
import { findJsonSyntaxError, lineAndColumn } from '../../src/config/json-syntax-error.js';

const parses = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

describe('findJsonSyntaxError', () => {
  it('when the text is JSON, then it finds nothing (property)', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.constantFrom(0, 2, '\t'), (value, indent) => {
      expect(findJsonSyntaxError(JSON.stringify(value, null, indent))).toBeUndefined();
    }));
  });

  it('when JSON is damaged by one edit, then it agrees with JSON.parse on whether it is valid (property)', () => {
    const damaged = fc.tuple(fc.json(), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', ':', '\\', 'x', '\n', '0', '-', '{', '[')).map(([text, at, insert]) => {
      const i = at % (text.length + 1);
      return text.slice(0, i) + insert + text.slice(i + (insert === '' ? 1 : 0));
    });
    fc.assert(fc.property(damaged, (text) => {
      expect(findJsonSyntaxError(text) === undefined).toBe(parses(text));
    }), { numRuns: 2000 });
  });

  it('when given arbitrary text, then it agrees with JSON.parse (property)', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...'{}[]",:0123456789-+.eE truefalsn\\u\n'.split('')) }), (text) => {
      expect(findJsonSyntaxError(text) === undefined).toBe(parses(text));
    }), { numRuns: 2000 });
  });

  it.each([
    ['{"a": 1,}', 8, "trailing comma before '}'"],
    ['[1, 2,]', 6, "trailing comma before ']'"],
    ['{"a" 1}', 5, "expected ':' after property name"],
    ['{a: 1}', 1, 'expected a double-quoted property name'],
    ['{"a": 1} x', 9, 'unexpected character after the end of the document'],
    ['{"a": "b', 8, 'unterminated string'],
    ['', 0, 'unexpected end of input'],
    ['01', 1, 'unexpected character after the end of the document'],
    ['{"a": tru}', 6, 'unexpected character'],
  ])('when the text is %j, then it reports offset %i: %s', (text, offset, reason) => {
    expect(findJsonSyntaxError(text)).toEqual({ offset, reason });
  });

  it('when given an offset, then it counts lines and columns from 1', () => {
    expect(lineAndColumn('ab\ncd\nef', 0)).toEqual({ line: 1, column: 1 });
    expect(lineAndColumn('ab\ncd\nef', 4)).toEqual({ line: 2, column: 2 });
    expect(lineAndColumn('ab\ncd\nef', 6)).toEqual({ line: 3, column: 1 });
  });
});
