/** DOM helpers: elements are built from text only, never from markup. */
import { SVG } from './constants.js';

export function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  setAttrs(e, attrs);
  for (const k of kids) if (k !== null && k !== undefined && k !== false) e.append(typeof k === 'string' || typeof k === 'number' ? String(k) : k);
  return e;
}
export function svg(tag, attrs, ...kids) {
  const e = document.createElementNS(SVG, tag);
  setAttrs(e, attrs);
  for (const k of kids) if (k) e.append(k);
  return e;
}
export function setAttrs(e, attrs) {
  if (!attrs) return;
  for (const k of Object.keys(attrs)) {
    const v = attrs[k];
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
}
export function fill(node, ...kids) {
  node.replaceChildren();
  for (const k of kids) if (k !== null && k !== undefined && k !== false) node.append(k);
}
