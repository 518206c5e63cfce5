// DOM helpers shared by the console and the portal (served at /common/).

/** A page element by id (any: pages know what their own elements are). @type {(id: string) => any} */
export const $ = (id) => document.getElementById(id);

/** Builds an element: el('td', { class: 'num' }, '12'). Text is always text, never HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    // Through the CSSOM: the pages' CSP allows no inline style attributes.
    else if (k === 'style') Object.assign(node.style, v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat())
    if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}
