/** DOM helpers: the page's elements by id, typed; elements are built from text only, never from markup. */
import { SVG } from './constants.js';

/**
 * The elements of the page (src/ui/page.ts) the script uses, by id, with the element each one
 * is. `$` checks it, so a page that changes an element's kind fails loudly at its first use
 * instead of reading `.value` off a box.
 */
const PAGE = {
  access: HTMLDetailsElement,
  'access-clear': HTMLButtonElement,
  'access-form': HTMLFormElement,
  'access-state': HTMLElement,
  'admin-token': HTMLInputElement,
  announcer: HTMLElement,
  'api-key': HTMLInputElement,
  chains: HTMLTableElement,
  changes: HTMLOListElement,
  'changes-source': HTMLElement,
  'd-reason': HTMLInputElement,
  'd-token': HTMLInputElement,
  detail: HTMLDialogElement,
  'detail-badge': HTMLElement,
  'detail-changes': HTMLElement,
  'detail-close': HTMLButtonElement,
  'detail-facts': HTMLElement,
  'detail-peers': HTMLElement,
  'detail-score': HTMLElement,
  'detail-state': HTMLElement,
  'detail-title': HTMLElement,
  'detail-traffic': HTMLElement,
  'detail-trends': HTMLElement,
  'drain-btn': HTMLButtonElement,
  'drain-form': HTMLFormElement,
  'drain-help': HTMLElement,
  'drain-msg': HTMLElement,
  'f-chain': HTMLSelectElement,
  'f-state': HTMLSelectElement,
  'f-tag': HTMLSelectElement,
  'f-text': HTMLInputElement,
  filters: HTMLFormElement,
  'h-chain': HTMLSelectElement,
  heads: HTMLElement,
  nodes: HTMLTableElement,
  opened: HTMLTimeElement,
  operator: HTMLInputElement,
  shown: HTMLElement,
  status: HTMLElement,
  'status-age': HTMLElement,
  'status-text': HTMLElement,
  totals: HTMLElement,
  'undrain-btn': HTMLButtonElement,
} as const;
export type PageId = keyof typeof PAGE;
export type PageElement<K extends PageId> = InstanceType<(typeof PAGE)[K]>;

export function $<K extends PageId>(id: K): PageElement<K> {
  const e = document.getElementById(id);
  const kind = PAGE[id];
  if (!(e instanceof kind))
    throw new Error(
      'dashboard: #' + id + (e ? ' is a <' + e.localName + '>, not a ' + kind.name : ' is missing from the page'),
    );
  return e as PageElement<K>;
}

export type Attrs = Readonly<Record<string, string | number | boolean | null | undefined>>;
/** A child: an element, or text; null, undefined and false are left out (`cond ? x : null`). */
export type Kid = Node | string | number | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null,
  ...kids: Kid[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  setAttrs(e, attrs);
  for (const k of kids)
    if (k !== null && k !== undefined && k !== false)
      e.append(typeof k === 'string' || typeof k === 'number' ? String(k) : k);
  return e;
}
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Attrs | null,
  ...kids: (Node | null | undefined | false)[]
): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  setAttrs(e, attrs);
  for (const k of kids) if (k) e.append(k);
  return e;
}
export function setAttrs(e: Element, attrs: Attrs | null): void {
  if (!attrs) return;
  for (const k of Object.keys(attrs)) {
    const v = attrs[k];
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
}
type FillKid = Node | string | null | undefined | false;

export function fill(node: Element, ...kids: FillKid[]): void {
  fillFrom(node, kids);
}

/**
 * `fill` from an array: for lists as long as the fleet (the node table's rows), which spread into
 * a call's arguments exceed the engine's limit (~125,000 in V8: a RangeError, and the table
 * never drawn).
 */
export function fillFrom(node: Element, kids: readonly FillKid[]): void {
  node.replaceChildren();
  for (const k of kids) if (k !== null && k !== undefined && k !== false) node.append(k);
}
