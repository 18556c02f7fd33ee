/** Formatting of times, durations, sizes, numbers and state changes for display. */
import { stateLabel } from './constants.js';

/** A number the API may leave out (null) or a field the page could not read. */
type Maybe = number | null | undefined;

export const pad = (n: number): string => (n < 10 ? '0' : '') + n;
export function clock(t: number): string {
  const d = new Date(t);
  return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}
export function stamp(t: number): string {
  const d = new Date(t);
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + clock(t);
}
export function dur(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return s + ' s';
  if (s < 5400) return Math.round(s / 60) + ' min';
  if (s < 172800) return Math.round(s / 3600) + ' h';
  return Math.round(s / 86400) + ' d';
}
export const ago = (ms: number): string => dur(ms) + ' ago';
export const int = (n: Maybe): string => (typeof n === 'number' ? Math.round(n).toLocaleString('en-US') : '—');
export function ms(n: Maybe): string {
  return typeof n !== 'number' ? '—' : n < 10 ? n.toFixed(1) + ' ms' : Math.round(n) + ' ms';
}
export function bytes(n: Maybe): string {
  if (typeof n !== 'number') return '—';
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 2 : 1)) + ' ' + u[i];
}
export const score = (s: Maybe): string => (typeof s === 'number' ? s.toFixed(2) : '—');
// One state change as a line of the change logs: `id: healthy → degraded (reasons)`.
export function transitionText(nodeId: string, from: string, to: string, reasons: readonly string[]): string {
  return (
    nodeId + ': ' + stateLabel(from) + ' → ' + stateLabel(to) + (reasons.length ? ' (' + reasons.join(', ') + ')' : '')
  );
}
