"""Perturbation families for MiniWoB++ pages, by injected CSS and JavaScript.

The families share their names, severities and meaning with synthui's (``act.envs.perturbations``),
their texts and permutations (``act.envs.perturbations.common``) and the per-family generator
(``family_rng``), so a seed fixes the perturbation.
Everything random is drawn in Python and handed to the page, never drawn in JavaScript. A family
that would push a control out of the 160 x 210 task area backs off (smaller shift, less zoom,
fewer decoys) until every control that was reachable still is, and records what it applied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from act.envs.perturbations import Spec, family_rng, format_spec, parse_spec
from act.envs.perturbations.base import Perturbation
from act.envs.perturbations.common import BANNERS, BUTTONS, MESSAGES, TITLES, displace

if TYPE_CHECKING:
    from act.envs.miniwob.env import MiniWoBEnv

# Defines window.__actOutside(): how many controls stick out of the task area (or are hidden).
_FIT = r"""
window.__actOutside = function () {
  var W = 160, H = 210, n = 0;
  document.querySelectorAll('#area button, #area input, #area a, #area label, #area .alink, #area .final,' +
                            '#area .ui-submit, .ui-dialog button').forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) return;
    if (r.left < 0 || r.top < 0 || r.right > W || r.bottom > H) n++;
  });
  return n;
};
"""


def _js(env: MiniWoBEnv, source: str, *args: Any, what: str) -> Any:
    return env.browser.script(_FIT + source, *args, what=what)


class PagePerturbation(Perturbation["MiniWoBEnv"]):
    """A family acting on a MiniWoB++ page: ``on_reset`` after the task is drawn, ``on_step`` after
    each action."""

    order: ClassVar[int] = 50

    def on_reset(self, env: MiniWoBEnv) -> None:
        """Change the freshly drawn task page."""

    def on_step(self, env: MiniWoBEnv) -> None:
        """Act after each step's input."""


class Reorder(PagePerturbation):
    """Items move within their lists (form rows, buttons, checkboxes, tabs, table rows)."""

    name = "reorder"
    order = 20
    GROUPS = r"""
var SEL = ['#area', '#area > #form', '#boxes', '#area ul.ui-tabs-nav', '#area table > tbody',
           '#area .ui-entry-wrap'];
function units(c) {
  var out = [], pend = null;
  for (var n = c.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 3 && /\S/.test(n.data)) return null;  // running text (links in a paragraph): leave it
    if (n.nodeType !== 1 || n.tagName === 'SCRIPT' || n.tagName === 'STYLE') continue;
    if (n.tagName === 'BR') { if (out.length) out[out.length - 1].push(n); continue; }
    if (pend) { pend.push(n); out.push(pend); pend = null; continue; }
    if (n.tagName === 'SPAN' && n.nextElementSibling && n.nextElementSibling.tagName === 'INPUT') {
      pend = [n]; continue;
    }
    out.push([n]);
  }
  if (pend) out.push(pend);
  return out;
}
var groups = [];
SEL.forEach(function (s) { document.querySelectorAll(s).forEach(function (c) {
  var u = units(c); if (u && u.length >= 2) groups.push({c: c, u: u});
}); });
window.__actGroups = groups;
"""

    def on_reset(self, env: MiniWoBEnv) -> None:
        if self.severity <= 0:
            return
        sizes = _js(
            env,
            self.GROUPS + "return window.__actGroups.map(function (g) { return g.u.length; });",
            what="reorder: find lists",
        )
        perms = [displace(n, self.severity, self.rng) for n in sizes]
        moved = _js(
            env,
            r"""
var perms = arguments[0], moved = 0;
window.__actGroups.forEach(function (g, i) {
  var before = window.__actOutside();
  function place(order) {
    var last = g.u[g.u.length - 1], anchor = last[last.length - 1].nextSibling;
    order.forEach(function (k) { g.u[k].forEach(function (n) { g.c.insertBefore(n, anchor); }); });
  }
  var perm = perms[i], m = 0;
  perm.forEach(function (k, j) { if (k !== j) m++; });
  if (!m) return;
  place(perm);
  if (window.__actOutside() > before) { place(perm.map(function (_, j) { return j; })); return; }
  moved += m;
});
return moved;""",
            perms,
            what="reorder: move items",
        )
        self.params = {"moved": int(moved)}


DECOY_BUTTONS = ("Help", "Back", "More", "Info", "Menu", "Home", "Edit", "Share", "Reset", "Skip")
DECOY_WORDS = ("apple", "river", "stone", "cloud", "maple", "piano", "lemon", "tiger", "cedar", "ocean")
DECOY_FIELDS = ("Email", "Phone", "Notes", "City")


class Distractors(PagePerturbation):
    """Extra controls the task does not need: buttons, text lines, checkboxes, text fields."""

    name = "distractors"
    order = 30

    def on_reset(self, env: MiniWoBEnv) -> None:
        s, rng = self.severity, self.rng
        k = int(round(s * 4))
        if k <= 0:
            return
        decoys = []
        for _ in range(k):
            kind = str(rng.choice(("button", "text", "checkbox", "textbox"), p=(0.4, 0.25, 0.2, 0.15)))
            if kind == "button":
                label = str(rng.choice(DECOY_BUTTONS))
            elif kind == "text":
                label = " ".join(rng.choice(DECOY_WORDS, size=int(rng.integers(2, 4))).tolist())
            elif kind == "checkbox":
                label = str(rng.choice(DECOY_WORDS))
            else:
                label = str(rng.choice(DECOY_FIELDS))
            decoys.append({"kind": kind, "label": label, "at": float(rng.random())})
        added = _js(
            env,
            r"""
var decoys = arguments[0], added = [];
var box = document.getElementById('boxes'), form = document.querySelector('#area > #form');
var area = document.getElementById('area');
decoys.forEach(function (d) {
  var before = window.__actOutside(), el;
  var c = (d.kind === 'checkbox' && box) ? box : (form || area);
  if (d.kind === 'button') {
    el = document.createElement('button'); el.textContent = d.label; el.type = 'button';
    el.addEventListener('click', function (e) { e.stopPropagation(); });
  } else if (d.kind === 'text') {
    el = document.createElement('div'); el.textContent = d.label;
  } else if (d.kind === 'checkbox') {
    el = document.createElement('label');
    var cb = document.createElement('input'); cb.type = 'checkbox'; el.appendChild(cb);
    el.appendChild(document.createTextNode(d.label));
  } else {
    el = document.createElement('div');
    var sp = document.createElement('span'); sp.textContent = d.label + ': '; el.appendChild(sp);
    var inp = document.createElement('input'); inp.type = 'text'; inp.style.width = '70px';
    el.appendChild(inp);
  }
  el.setAttribute('data-act-decoy', d.kind);
  var kids = Array.prototype.filter.call(c.children, function (n) {
    return n.tagName !== 'STYLE' && n.tagName !== 'BR';
  });
  var at = Math.floor(d.at * (kids.length + 1));
  c.insertBefore(el, at < kids.length ? kids[at] : null);
  if (d.kind === 'checkbox' && c === box) c.insertBefore(document.createElement('br'), el.nextSibling);
  if (window.__actOutside() > before) {
    if (el.nextSibling && el.nextSibling.tagName === 'BR' && d.kind === 'checkbox') {
      c.removeChild(el.nextSibling);
    }
    c.removeChild(el); return;
  }
  added.push(d.kind + ':' + d.label);
});
return added;""",
            decoys,
            what="distractors: add decoys",
        )
        self.params = {"added": len(added), "decoys": list(added)}


class Theme(PagePerturbation):
    """Colours change together: hue rotated, saturation changed, dark mode at high severity."""

    name = "theme"
    order = 35

    def on_reset(self, env: MiniWoBEnv) -> None:
        s, rng = self.severity, self.rng
        hue = float(s * rng.uniform(-180, 180))
        sat = float(1.0 + s * rng.uniform(-0.6, 0.6))
        dark = bool(rng.random() < s)
        css = f"hue-rotate({hue:.1f}deg) saturate({sat:.3f})" + (
            " invert(1) hue-rotate(180deg)" if dark else ""
        )
        if s > 0:
            env.browser.script("document.documentElement.style.filter = arguments[0];", css, what="theme")
        self.params = {"hue": round(hue, 2), "saturation": round(sat, 4), "dark": dark}


class Scale(PagePerturbation):
    """The task's content zoomed (text, controls, spacing), up to 125% at severity 1."""

    name = "scale"
    order = 40
    MAX_ZOOM = 0.25

    def on_reset(self, env: MiniWoBEnv) -> None:
        want = 1.0 + self.MAX_ZOOM * self.severity
        zoom = want
        if self.severity > 0:
            zoom = _js(
                env,
                r"""
var want = arguments[0], area = document.getElementById('area'), before = window.__actOutside();
function set(z) {
  area.style.zoom = z; area.style.width = (156 / z) + 'px';
  document.querySelectorAll('.ui-dialog').forEach(function (d) { d.style.zoom = z; });
}
var z = want;
for (var i = 0; i < 6; i++) {
  set(z);
  if (window.__actOutside() <= before) return z;
  z = 1 + (z - 1) / 2;
}
set(1); return 1;""",
                want,
                what="scale",
            )
        self.params = {"scale": round(float(zoom), 4), "wanted": round(want, 4)}


class LayoutShift(PagePerturbation):
    """A banner pushes the content down, an indent pushes it right, dialogs open off centre."""

    name = "layout_shift"
    order = 45

    def on_reset(self, env: MiniWoBEnv) -> None:
        s, rng = self.severity, self.rng
        if s <= 0:
            return
        banner = int(round(s * rng.uniform(16, 24)))
        indent = int(round(s * rng.uniform(8, 20)))
        dialog = [
            float(s * rng.uniform(8, 16) * rng.choice((-1, 1))),
            float(s * rng.uniform(4, 10) * rng.choice((-1, 1))),
        ]
        text = str(rng.choice(BANNERS))
        applied = _js(
            env,
            r"""
var b = arguments[0], ind = arguments[1], dlg = arguments[2], text = arguments[3];
var area = document.getElementById('area'), before = window.__actOutside();
var ban = document.createElement('div');
ban.id = 'act-banner'; ban.setAttribute('data-act-decoy', 'banner'); ban.textContent = text;
ban.style.cssText = 'background:#dde8f5;color:#234;font-size:9px;overflow:hidden;white-space:nowrap;' +
  'padding-left:3px;margin-bottom:2px;';
area.insertBefore(ban, area.firstChild);
function set(f) {
  ban.style.height = ban.style.lineHeight = Math.round(b * f) + 'px';
  ban.style.display = Math.round(b * f) > 0 ? 'block' : 'none';
  area.style.paddingLeft = (2 + Math.round(ind * f)) + 'px';
  document.querySelectorAll('.ui-dialog').forEach(function (d) {
    d.style.transform = 'translate(' + dlg[0] * f + 'px,' + dlg[1] * f + 'px)';
  });
}
var f = 1;
for (var i = 0; i < 6; i++) {
  set(f);
  if (window.__actOutside() <= before) return f;
  f /= 2;
}
set(0); return 0;""",
            banner,
            indent,
            dialog,
            text,
            what="layout_shift",
        )
        f = float(applied)
        self.params = {
            "banner": round(banner * f),
            "indent": round(indent * f),
            "dialog": [round(d * f, 2) for d in dialog],
            "text": text,
            "backoff": round(f, 4),
        }


class Popup(PagePerturbation):
    """A modal pop-up over the task that must be dismissed (a button or Escape) before the task takes input.

    From severity 0.5 one is open at the start; above it a second one opens later (after step 2-6).
    """

    name = "popup"
    order = 50
    OPEN = r"""
if (WOB_DONE_GLOBAL || document.getElementById('act-popup')) return false;
var p = arguments[0];
var shade = document.createElement('div');
shade.id = 'act-popup-shade';
shade.style.cssText = 'position:absolute;left:0;top:50px;width:160px;height:160px;' +
  'background:rgba(0,0,0,0.25);z-index:9000;';
var box = document.createElement('div');
box.id = 'act-popup';
var w = Math.min(p.width, 150), left = Math.max(2, Math.min(160 - w - 2, (160 - w) / 2 + p.dx));
box.style.cssText = 'position:absolute;z-index:9001;background:#fff;border:1px solid #444;' +
  'box-shadow:2px 2px 4px rgba(0,0,0,.4);' +
  'font:10px Arial;width:' + w + 'px;left:' + left + 'px;';
var title = document.createElement('div');
title.textContent = p.title;
title.style.cssText = 'background:#456;color:#fff;font-weight:bold;padding:2px 4px;';
var msg = document.createElement('div');
msg.textContent = p.message; msg.style.cssText = 'padding:6px 4px;';
var row = document.createElement('div'); row.style.cssText = 'text-align:right;padding:0 4px 4px;';
function close() {
  ['act-popup', 'act-popup-shade'].forEach(function (i) {
    var e = document.getElementById(i); if (e) e.remove();
  });
}
p.buttons.forEach(function (label) {
  var b = document.createElement('button'); b.type = 'button'; b.textContent = label;
  b.style.cssText = 'margin-left:4px;font-size:10px;';
  b.addEventListener('click', function (e) { e.stopPropagation(); close(); });
  row.appendChild(b);
});
box.appendChild(title); box.appendChild(msg); box.appendChild(row);
document.body.appendChild(shade); document.body.appendChild(box);
var h = box.getBoundingClientRect().height;
box.style.top = Math.max(52, Math.min(208 - h, 130 - h / 2 + p.dy)) + 'px';
if (!window.__actEscape) {
  window.__actEscape = true;
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && document.getElementById('act-popup')) {
      ['act-popup', 'act-popup-shade'].forEach(function (i) {
        var x = document.getElementById(i); if (x) x.remove();
      });
    }
  }, true);
}
if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
return true;
"""

    def __init__(self, severity: float, rng: Any):
        super().__init__(severity, rng)
        s = self.severity
        self.spec = {
            "title": str(rng.choice(TITLES)),
            "message": str(rng.choice(MESSAGES)),
            "buttons": list(BUTTONS[int(rng.integers(len(BUTTONS)))]),
            "width": float(rng.uniform(96, 116)),
            "dx": float(s * rng.uniform(-20, 20)),
            "dy": float(s * rng.uniform(-14, 14)),
        }
        self.at_start = bool(rng.random() < min(1.0, 2.0 * s))
        self.later = int(rng.integers(2, 7)) if rng.random() < max(0.0, 2.0 * s - 1.0) else None
        self.params = {"at_start": self.at_start, "later_step": self.later, **self.spec}

    def open(self, env: MiniWoBEnv) -> bool:
        return bool(env.browser.script(self.OPEN, self.spec, what="popup: open"))

    def on_reset(self, env: MiniWoBEnv) -> None:
        if self.at_start:
            self.open(env)

    def on_step(self, env: MiniWoBEnv) -> None:
        if self.later is not None and env.steps == self.later:
            self.open(env)


FAMILIES: dict[str, type[PagePerturbation]] = {
    c.name: c for c in (LayoutShift, Scale, Theme, Reorder, Popup, Distractors)
}


def check_spec(spec: Any) -> Spec:
    """``parse_spec`` plus a clear error for a family that has no MiniWoB++ version."""
    parsed = parse_spec(spec)
    for name, _ in parsed:
        if name not in FAMILIES:
            raise ValueError(
                f"perturbation family {name!r} has no MiniWoB++ version; "
                f"miniwob supports: {', '.join(FAMILIES)}"
            )
    return parsed


def build(spec: Any, seed: int) -> list[PagePerturbation]:
    """The families of ``spec`` for the episode with ``seed``, in application order."""
    out = [FAMILIES[n](sev, family_rng(seed, n)) for n, sev in check_spec(spec)]
    return sorted(out, key=lambda p: (p.order, p.name))


__all__ = ["FAMILIES", "PagePerturbation", "build", "check_spec", "format_spec"]
