"""JavaScript run in a MiniWoB++ page: start a seeded episode, read the task state and the DOM.

The DOM reader returns a flat list of the visible elements of the task area with their box in
task-area pixels, a role, text, value and whether a click at their centre reaches them. That is
what experts and metrics read (``info["elements"]``); a policy never sees it.
"""

from __future__ import annotations

# arguments: seed, episode time limit (ms). Removes what perturbations left from the last episode,
# seeds the task's random generator and draws the task. Returns whether the task says it is ready.
START_EPISODE = """
['act-popup', 'act-popup-shade', 'act-banner'].forEach(function (i) {
  var e = document.getElementById(i); if (e) e.remove();
});
document.querySelectorAll('[data-act-decoy]').forEach(function (e) { e.remove(); });
document.documentElement.style.filter = '';
var area = document.getElementById('area');
if (area) { area.style.zoom = ''; area.style.width = ''; area.style.paddingLeft = ''; }
Math.seedrandom(arguments[0]);
core.EPISODE_MAX_TIME = arguments[1];
window.__act = {next_id: 1, popup_open: false};
core.startEpisodeReal();
return WOB_TASK_READY;
"""

# arguments: task-area width, height. Returns {done, raw_reward, reward, reason, utterance, focus, elements}.
READ_STATE = r"""
var W = arguments[0], H = arguments[1];
var SKIP = {SCRIPT: 1, STYLE: 1, BR: 1, HEAD: 1, META: 1, LINK: 1, TITLE: 1};
var EXCLUDE = ['query', 'reward-display', 'sync-task-cover', 'click-canvas'];
var TEXTBOX = {text: 1, password: 1, email: 1, number: 1, search: 1, tel: 1, url: 1, '': 1};
var act = window.__act || (window.__act = {next_id: 1});
function idOf(el) {
  if (!el.dataset.actId || el.dataset.actEp !== String(WOB_EPISODE_ID)) {
    el.dataset.actId = String(act.next_id++);
    el.dataset.actEp = String(WOB_EPISODE_ID);
  }
  return +el.dataset.actId;
}
function ownText(el) {
  var t = '';
  el.childNodes.forEach(function (c) { if (c.nodeType === 3) t += ' ' + c.data; });
  return t.replace(/\s+/g, ' ').trim();
}
function textRect(el) {  // where el's own text is drawn: the union of its text nodes' boxes
  var range = document.createRange(), box = null;
  el.childNodes.forEach(function (c) {
    if (c.nodeType !== 3 || !c.data.trim()) return;
    range.selectNodeContents(c);
    var r = range.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) return;
    box = box ? [Math.min(box[0], r.left), Math.min(box[1], r.top), Math.max(box[2], r.right),
                 Math.max(box[3], r.bottom)] : [r.left, r.top, r.right, r.bottom];
  });
  return box;
}
function clean(t) { return (t || '').replace(/\s+/g, ' ').trim().slice(0, 120); }
function labelOf(el) {
  if (el.labels && el.labels.length) return clean(el.labels[0].textContent);
  var p = el.parentElement;
  for (var i = 0; i < 3 && p && p.id !== 'area'; i++, p = p.parentElement) {
    var t = clean(p.textContent);
    if (t) return t;
  }
  return '';
}
function roleOf(el, style) {
  var tag = el.tagName;
  if (tag === 'INPUT') {
    var type = (el.getAttribute('type') || '').toLowerCase();
    if (type === 'checkbox' || type === 'radio') return type;
    if (type === 'button' || type === 'submit' || type === 'reset') return 'button';
    return TEXTBOX[type] ? 'textbox' : 'input';
  }
  if (tag === 'TEXTAREA') return 'textbox';
  if (tag === 'SELECT') return 'select';
  if (tag === 'BUTTON') return 'button';
  if (tag === 'A') return el.closest('.ui-tabs-nav') ? 'tab' : 'link';
  if (el.classList.contains('alink')) return 'link';
  if (tag === 'LABEL') return 'label';
  if (style.cursor === 'pointer' && ownText(el)) return 'button';
  return ownText(el) ? 'text' : null;
}
var ex = EXCLUDE.map(function (i) { return document.getElementById(i); }).filter(Boolean);
var out = [];
var all = document.body.querySelectorAll('*');
for (var i = 0; i < all.length; i++) {
  var el = all[i];
  if (SKIP[el.tagName]) continue;
  if (ex.some(function (x) { return x.contains(el); })) continue;
  var style = window.getComputedStyle(el);
  if (style.visibility === 'hidden' || style.display === 'none') continue;
  var role = roleOf(el, style);
  if (!role) continue;
  var rects = el.getClientRects();
  if (!rects.length) continue;
  var r = (role === 'link' || role === 'text') ? rects[0] : el.getBoundingClientRect();
  if (r.width < 1 || r.height < 1 || r.right <= 0 || r.bottom <= 0 || r.left >= W || r.top >= H) continue;
  var cx = Math.min(Math.max((r.left + r.right) / 2, 0), W - 1),
      cy = Math.min(Math.max((r.top + r.bottom) / 2, 0), H - 1);
  var hit = document.elementFromPoint(cx, cy);
  var reach = !!hit && (hit === el || el.contains(hit) ||
                        (el.labels && Array.prototype.indexOf.call(el.labels, hit) >= 0));
  var e = {
    id: idOf(el), tag: el.tagName.toLowerCase(), role: role,
    text: role === 'text' ? ownText(el).slice(0, 120) : clean(el.textContent || el.value),
    bbox: [r.left, r.top, r.right, r.bottom], visible: reach,
    inside: r.left >= 0 && r.top >= 0 && r.right <= W && r.bottom <= H,
    disabled: !!el.disabled, decoy: el.closest('[data-act-decoy]') !== null,
    popup: el.closest('#act-popup') !== null, elem_id: el.id || '', classes: String(el.className || '')
  };
  if (role === 'text') e.text_bbox = textRect(el);
  if (role === 'textbox' || role === 'input' || role === 'select') {
    e.value = el.value; e.label = labelOf(el); e.text = '';
    try { e.caret = el.selectionStart; } catch (err) { e.caret = null; }
  }
  if (role === 'checkbox' || role === 'radio') {
    e.checked = el.checked; e.label = labelOf(el); e.text = e.label;
  }
  out.push(e);
}
var focus = document.activeElement && document.activeElement !== document.body ?
  idOf(document.activeElement) : null;
return {
  done: !!WOB_DONE_GLOBAL, raw_reward: +WOB_RAW_REWARD_GLOBAL, reward: +WOB_REWARD_GLOBAL,
  reason: WOB_REWARD_REASON === null ? null : String(WOB_REWARD_REASON),
  utterance: core.getUtterance(), focus: focus, elements: out,
  popup: !!document.getElementById('act-popup')
};
"""
