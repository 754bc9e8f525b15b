import { appendSentence, el } from '../util/dom';

describe('el', () => {
  it('makes an element with attributes, a class and text', () => {
    const node = el(
      'button',
      { class: 'a b', type: 'button', 'aria-label': 'Copy' },
      'Copy'
    );
    expect(node.tagName).toBe('BUTTON');
    expect(node.className).toBe('a b');
    expect(node.getAttribute('type')).toBe('button');
    expect(node.getAttribute('aria-label')).toBe('Copy');
    expect(node.textContent).toBe('Copy');
  });

  it('sets text as text, never as HTML', () => {
    const node = el('p', {}, '<img src=x onerror=alert(1)>');
    expect(node.querySelector('img')).toBeNull();
    expect(node.textContent).toBe('<img src=x onerror=alert(1)>');
  });
});

describe('appendSentence', () => {
  it('puts the node where the marker stands', () => {
    const link = el('a', {}, 'the page');
    const p = appendSentence(el('p'), 'Open {link} now.', '{link}', link);
    expect(p.textContent).toBe('Open the page now.');
    expect(p.childNodes[1]).toBe(link);
  });

  it('puts the node last when a translation lost the marker', () => {
    const link = el('a', {}, 'x');
    const p = appendSentence(el('p'), 'Open: ', '{link}', link);
    expect(p.lastChild).toBe(link);
    expect(p.textContent).toBe('Open: x');
  });
});
