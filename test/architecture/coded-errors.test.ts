import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { ArgumentErrorCode, InvalidArgumentError, OutOfRangeError } from '../../src/errors/argument-errors.js';
import { createStoreKeys } from '../../src/store/keys.js';
import { planSweep } from '../../src/store/sweep-plan.js';
import { readGraph } from './import-graph.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('errors with codes', () => {
  it('when an option is of the wrong kind, then the error is a TypeError with code INVALID_ARGUMENT and its message', () => {
    let caught: unknown;
    try {
      createStoreKeys('has spaces');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TypeError);
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect(caught).toMatchObject({
      code: ArgumentErrorCode.InvalidArgument,
      transient: false,
      message: expect.stringContaining('invalid store prefix'),
    });
  });

  it('when a number is out of range, then the error is a RangeError with code OUT_OF_RANGE and its message', () => {
    let caught: unknown;
    try {
      planSweep({ records: [] }, 0);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect(caught).toBeInstanceOf(OutOfRangeError);
    expect(caught).toMatchObject({
      code: ArgumentErrorCode.OutOfRange,
      message: 'batchSize must be a positive integer, got 0',
    });
  });

  it('src/ throws no bare TypeError or RangeError (each has a code)', () => {
    const bare = [...readGraph(root).keys()].filter((f) =>
      /new (TypeError|RangeError)\(/.test(readFileSync(path.join(root, f), 'utf8')),
    );
    expect(bare).toEqual([]);
  });
});
