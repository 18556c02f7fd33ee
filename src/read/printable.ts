// Text from requests and nodes made safe to echo: printable ASCII, bounded.

/** Printable ASCII only, at most `max` characters: safe in a header, a log line or an agent reply. */
export function printable(text: string, max: number): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}
