package web

import (
	"context"
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// a11yAudit lists what on the current page breaks the dashboard's accessibility bar: form
// fields, links and buttons without an accessible name, images and charts without a text
// alternative, a page without a language or title, and text whose contrast with its background
// is under WCAG AA (4.5:1, or 3:1 for large text). Colours are read as computed (rgb/rgba);
// a colour in any other form is reported rather than skipped, so the check cannot pass blind.
const a11yAudit = `(() => {
  const out = [];
  const short = el => el.outerHTML.slice(0, 100);
  const text = el => (el.textContent || '').replace(/\s+/g, ' ').trim();
  const labelled = el => {
    if (el.getAttribute('aria-label')) return true;
    const by = el.getAttribute('aria-labelledby');
    if (by && by.split(/\s+/).some(id => { const l = document.getElementById(id); return l && text(l); })) return true;
    if (el.id && [...document.querySelectorAll('label[for="' + CSS.escape(el.id) + '"]')].some(l => text(l))) return true;
    const wrap = el.closest('label');
    return !!(wrap && text(wrap)) || !!el.getAttribute('title');
  };
  if (!document.documentElement.lang) out.push('the page has no lang');
  if (!document.title.trim()) out.push('the page has no title');
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (['hidden', 'submit', 'button', 'reset'].includes(el.type)) continue;
    if (!labelled(el)) out.push('field without a label: ' + short(el));
  }
  for (const el of document.querySelectorAll('a[href], button, input[type=submit], input[type=button]')) {
    const name = text(el) || el.value || el.getAttribute('aria-label') || el.getAttribute('title') ||
      [...el.querySelectorAll('img[alt], svg title')].map(x => x.alt || x.textContent).join('').trim();
    if (!name) out.push('control without a name: ' + short(el));
  }
  for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt')) out.push('image without alt: ' + short(img));
  for (const svg of document.querySelectorAll('svg')) {
    if (svg.getAttribute('aria-hidden') === 'true' || svg.closest('a, button')) continue;
    if (!svg.getAttribute('aria-label') && !svg.querySelector('title') && !svg.getAttribute('aria-labelledby')) out.push('chart or icon without a text alternative: ' + short(svg));
  }
  const rgb = s => {
    const m = /^rgba?\(([^)]+)\)$/.exec(s);
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return {c: p.slice(0, 3), a: p.length > 3 ? p[3] : 1};
  };
  const lum = c => {
    const [r, g, b] = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const over = (top, under) => top.c.map((v, i) => v * top.a + under[i] * (1 - top.a));
  const background = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c === null) return null;
      if (c.a > 0) layers.push(c);
      if (c.a === 1) break;
    }
    let under = [255, 255, 255];
    for (const l of layers.reverse()) under = over(l, under);
    return under;
  };
  for (const el of document.querySelectorAll('body *')) {
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
    const st = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (st.visibility === 'hidden' || box.width <= 1 || box.height <= 1 || el.closest('[hidden], [aria-hidden="true"], :disabled, svg')) continue;
    const fg = rgb(st.color), bg = background(el);
    if (!fg || !bg) { out.push('colour not read as rgb: ' + st.color + ' / ' + short(el)); continue; }
    const a = lum(over(fg, bg)), b = lum(bg);
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(st.fontSize), bold = Number(st.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) out.push('contrast ' + ratio.toFixed(2) + ' < ' + need + ': "' + text(el).slice(0, 40) + '" ' + short(el));
  }
  return out;
})()`

// audit returns the current page's accessibility problems (a11yAudit) as an error, if any.
func audit(ctx context.Context, tg *chromedp.Target, page string) error {
	problems, err := chromedp.Evaluate[[]string](a11yAudit)(ctx, tg)
	if err != nil {
		return fmt.Errorf("accessibility audit of %s: %w", page, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("accessibility of %s:\n  %s", page, strings.Join(problems, "\n  "))
	}
	return nil
}
