import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A message from parent to child: a command with a request id. */
interface Request {
  readonly id: number;
  readonly cmd: string;
  readonly arg?: unknown;
}

/** A child's answer to one request, or its one `ready` message (id 0). */
interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
}

const live = new Set<BenchChild>();

/**
 * One benchmark process (simulator, sweep worker, API server...), driven over Node's IPC
 * channel: `call(cmd, arg)` resolves with the child's answer. Children exit when the channel
 * closes, so a crashed or interrupted parent never leaves them running.
 */
export class BenchChild {
  readonly name: string;
  readonly #proc: ChildProcess;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #exited: Promise<void>;
  #nextId = 1;
  #stopping: Promise<void> | undefined;

  private constructor(name: string, proc: ChildProcess) {
    this.name = name;
    this.#proc = proc;
    this.#exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    proc.on('message', (m: Reply) => {
      const w = this.#waiting.get(m.id);
      if (!w) return;
      this.#waiting.delete(m.id);
      if (m.ok) w.resolve(m.result);
      else w.reject(new Error(`${name}: ${m.error ?? 'failed'}`));
    });
    proc.once('exit', (code, signal) => {
      live.delete(this);
      for (const w of this.#waiting.values())
        w.reject(new Error(`${name} exited (${signal ?? code}) before answering`));
      this.#waiting.clear();
    });
  }

  /**
   * Start `bench/out/bench/<script>.js` with `options` as JSON and wait for its ready message
   * (whatever it reports: ports, URLs). `nodeArgs` go to node itself (e.g. --cpu-prof).
   */
  static async start<T>(
    script: string,
    options: unknown,
    nodeArgs: readonly string[] = [],
  ): Promise<{ child: BenchChild; ready: T }> {
    const path = fileURLToPath(new URL(`./${script}.js`, import.meta.url));
    const proc = fork(path, [JSON.stringify(options)], {
      execArgv: [...nodeArgs],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const child = new BenchChild(script, proc);
    live.add(child);
    const ready = new Promise<T>((resolve, reject) =>
      child.#waiting.set(0, { resolve: resolve as (v: unknown) => void, reject }),
    );
    try {
      return { child, ready: await ready };
    } catch (err) {
      await child.stop();
      throw err;
    }
  }

  call<T>(cmd: string, arg?: unknown): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const req: Request = { id, cmd, ...(arg !== undefined ? { arg } : {}) };
      if (!this.#proc.connected) {
        this.#waiting.delete(id);
        reject(new Error(`${this.name} is not running`));
        return;
      }
      this.#proc.send(req);
    });
  }

  /** Ask the child to close, then kill it if it has not exited within `graceMs`. Safe twice. */
  stop(graceMs = 10_000): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#proc.exitCode === null && this.#proc.signalCode === null) {
        if (this.#proc.connected) this.#proc.disconnect();
        const timer = setTimeout(() => this.#proc.kill('SIGKILL'), graceMs);
        await this.#exited;
        clearTimeout(timer);
      }
    })();
    return this.#stopping;
  }

  /** Stop every child still running (the harness's `finally`). */
  static stopAll(): Promise<void> {
    return Promise.all([...live].map((c) => c.stop())).then(() => undefined);
  }
}

export type Handlers = Readonly<Record<string, (arg: unknown) => unknown>>;

/**
 * The child's side: report `ready`, answer the parent's calls with `handlers`, and on
 * disconnect (parent done, interrupted or dead) run `close` and exit.
 */
export function serveParent(ready: unknown, handlers: Handlers, close: () => Promise<void>): void {
  const send = (reply: Reply) => {
    if (process.connected) process.send!(reply);
  };
  process.on('message', (req: Request) => {
    const handler = handlers[req.cmd];
    if (!handler) return send({ id: req.id, ok: false, error: `unknown command ${req.cmd}` });
    Promise.resolve()
      .then(() => handler(req.arg))
      .then(
        (result) => send({ id: req.id, ok: true, result }),
        (err: unknown) =>
          send({ id: req.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
      );
  });
  process.once('disconnect', () => {
    const force = setTimeout(() => process.exit(0), 8_000);
    force.unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
  send({ id: 0, ok: true, result: ready });
}

/** Report a start-up failure to the parent (it rejects `start`) and exit. */
export function failStart(err: unknown): void {
  const reply: Reply = { id: 0, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  if (process.connected) process.send!(reply, () => process.exit(1));
  else process.exit(1);
}

/** The JSON options a child was started with. */
export function childOptions<T>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T;
}
