/** One line of the results table. `met`: undefined when the row has no target or is not judged. */
export interface Row {
  readonly what: string;
  readonly nodesentry: string;
  readonly floor: string;
  readonly ratio: string;
  readonly detail: string;
  readonly target: string;
  readonly met: boolean | undefined;
}

const HEADERS = ['measure', 'nodesentry', 'floor / bound', 'ratio', 'target', 'met', 'details'] as const;

/** A Markdown table (readable as plain text, pasteable into RESULTS.md). */
export function renderTable(rows: readonly Row[], opts: { judged: boolean }): string {
  const cells = rows.map((r) => [
    r.what,
    r.nodesentry,
    r.floor,
    r.ratio,
    opts.judged ? r.target : `${r.target === '-' ? '-' : `(${r.target})`}`,
    r.met === undefined ? '-' : r.met ? 'yes' : 'NO',
    r.detail,
  ]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  // The last column is free text: no padding, so long details do not widen every line.
  const line = (c: readonly string[]) =>
    `| ${c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(widths[i]!))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => '-'.repeat(i === widths.length - 1 ? HEADERS[i]!.length + 2 : w + 2)).join('|')}|`;
  const note = opts.judged ? '' : '\n\nQuick mode: a smoke test of the harness; numbers are not judged.';
  return [line(HEADERS), sep, ...cells.map(line)].join('\n') + note;
}
