// An error as one log line for the poller's rooms: its stable code first, when it has one.
export function errText(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return `${(err as { code: string }).code}: ${(err as unknown as Error).message}`;
  }
  return err instanceof Error ? err.message : String(err);
}
