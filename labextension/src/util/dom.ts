/**
 * Building DOM nodes for the widgets. Text is always set as text, never
 * parsed as HTML.
 */

/** Attributes of a new element; `class` sets the class name. */
export interface IAttributes {
  [name: string]: string;
}

/**
 * Create an element.
 *
 * @param tag the tag name
 * @param attributes attributes to set (`class` becomes `className`)
 * @param text the element's text content, if any
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: IAttributes = {},
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'class') {
      node.className = value;
    } else {
      node.setAttribute(name, value);
    }
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/**
 * Append a sentence to `parent` with `node` (a link, say) where `marker`
 * stands in it: a translated sentence decides where the element goes.
 *
 * @returns `parent`
 */
export function appendSentence<T extends HTMLElement>(
  parent: T,
  sentence: string,
  marker: string,
  node: Node
): T {
  const at = sentence.indexOf(marker);
  if (at < 0) {
    parent.append(sentence, node);
  } else {
    parent.append(
      sentence.slice(0, at),
      node,
      sentence.slice(at + marker.length)
    );
  }
  return parent;
}

/** `url` when it is an http(s) address (the only ones rendered as links or opened). */
export function safeHttpUrl(url: string | null | undefined): string | null {
  if (!url) {
    return null;
  }
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:'
      ? parsed.href
      : null;
  } catch {
    return null;
  }
}
