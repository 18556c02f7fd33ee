/**
 * node:util parseArgs' messages, in the CLI's own wording: lower case after the command's name,
 * like every other error it prints, and without the advice about positionals that only fits
 * some of them ("Unknown option '--x'. To specify a positional argument starting with a '-', ...").
 */
export function argErrorText(err: unknown): string {
  // Duck-typed: an error from another realm (a vm context) is not `instanceof Error` here.
  const m = (err as { message?: unknown } | null)?.message;
  const message = typeof m === 'string' ? m : String(err);
  const first = message.split(/\. (?=To specify|Did you)/)[0]!.replace(/\.$/, '');
  return first.charAt(0).toLowerCase() + first.slice(1);
}
