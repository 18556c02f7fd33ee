/** What a simulated node sends back, before faults shape how it is sent. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/json' });
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Both geth and bitcoind end a JSON reply with a newline. */
export function jsonAnswer(status: number, value: unknown): HttpAnswer {
  return { status, body: `${JSON.stringify(value)}\n`, headers: JSON_HEADERS };
}

/** A JSON content type with nothing in it (geth's reply to notifications only). */
export function emptyJsonAnswer(status: number): HttpAnswer {
  return { status, body: '', headers: JSON_HEADERS };
}

export function textAnswer(status: number, text: string, contentType: string): HttpAnswer {
  return { status, body: text, headers: { 'content-type': contentType } };
}

export function emptyAnswer(status: number, headers: Readonly<Record<string, string>> = NO_HEADERS): HttpAnswer {
  return { status, body: '', headers };
}
