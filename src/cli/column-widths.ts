// The widths of a terminal table's columns (the demo's fleet table, probe's sample table).

/**
 * Each column's width: its header's or its longest cell's. A loop, not Math.max(...cells): a
 * table of a fleet's nodes spread into a call exceeded V8's argument limit (~125,000: RangeError).
 */
export function columnWidths(header: readonly string[], rows: readonly (readonly string[])[]): number[] {
  const widths = header.map((h) => h.length);
  for (const row of rows)
    for (let i = 0; i < widths.length; i++) {
      const n = row[i]?.length ?? 0;
      if (n > widths[i]!) widths[i] = n;
    }
  return widths;
}
