/* The flamegraph's embedded style and script: hover details, click to zoom,
 * Reset Zoom, regex search with Matched %, case toggle, state in the URL. */
#ifndef FILSPY_SVG_SCRIPT_H
#define FILSPY_SVG_SCRIPT_H

#define SVG_STYLE \
	"text { font-family: Verdana, 'DejaVu Sans', sans-serif; font-size: 12px; fill: #000; }\n" \
	"#title { text-anchor: middle; font-size: 17px; }\n" \
	"#subtitle { text-anchor: middle; fill: #444; }\n" \
	"#details, #matched { fill: #222; }\n" \
	".button { cursor: pointer; fill: #225; }\n" \
	".button:hover { text-decoration: underline; }\n" \
	".hide { display: none; }\n" \
	".parent { opacity: 0.5; }\n" \
	"g.frame { cursor: pointer; }\n" \
	"g.frame:hover rect { stroke: #000; stroke-width: 0.5; }\n" \
	"rect.matched { fill: rgb(230,0,230) !important; }\n"

#define SVG_SCRIPT \
	"'use strict';\n" \
	"var W, PAD, FONT = 12, CW = 0.59, frames = [], details, matchedText, searching = null,\n" \
	"  ignoreCase = false, zoomed = null, total = 0;\n" \
	"function init() {\n" \
	"  var svg = document.documentElement;\n" \
	"  W = +svg.getAttribute('width'); PAD = +svg.getAttribute('data-pad');\n" \
	"  total = +svg.getAttribute('data-total');\n" \
	"  details = document.getElementById('details').firstChild;\n" \
	"  matchedText = document.getElementById('matched');\n" \
	"  var gs = document.querySelectorAll('g.frame');\n" \
	"  for (var i = 0; i < gs.length; i++) {\n" \
	"    var g = gs[i], f = { g: g, x: +g.getAttribute('data-x'), w: +g.getAttribute('data-w'),\n" \
	"      d: +g.getAttribute('data-d'), name: g.getAttribute('data-name'),\n" \
	"      title: g.querySelector('title').textContent, rect: g.querySelector('rect'),\n" \
	"      text: g.querySelector('text') };\n" \
	"    g.f = f; frames.push(f);\n" \
	"    g.addEventListener('mouseover', function () { details.nodeValue = this.f.title; });\n" \
	"    g.addEventListener('mouseout', function () { details.nodeValue = ' '; });\n" \
	"    g.addEventListener('click', function () { zoom(this.f); save(); });\n" \
	"  }\n" \
	"  document.getElementById('reset').addEventListener('click', function () { unzoom(); save(); });\n" \
	"  document.getElementById('search').addEventListener('click', function () {\n" \
	"    if (searching !== null) { clearSearch(); save(); return; }\n" \
	"    var term = prompt('Search for (regular expression):', '');\n" \
	"    if (term) { search(term); save(); }\n" \
	"  });\n" \
	"  document.getElementById('case').addEventListener('click', function () {\n" \
	"    ignoreCase = !ignoreCase; this.firstChild.nodeValue = ignoreCase ? 'IC' : 'ic';\n" \
	"    if (searching !== null) search(searching); save();\n" \
	"  });\n" \
	"  restore();\n" \
	"}\n" \
	"function label(f, px) {\n" \
	"  var fit = Math.floor((px - 6) / (FONT * CW));\n" \
	"  if (fit < 3) return '';\n" \
	"  return f.name.length <= fit ? f.name : f.name.substring(0, fit - 2) + '..';\n" \
	"}\n" \
	"function place(f, x0, scale) {\n" \
	"  var x = PAD + (f.x - x0) * scale, w = f.w * scale;\n" \
	"  f.rect.setAttribute('x', x); f.rect.setAttribute('width', Math.max(w, 0));\n" \
	"  f.text.setAttribute('x', x + 3); f.text.textContent = label(f, w);\n" \
	"}\n" \
	"function zoom(t) {\n" \
	"  zoomed = t;\n" \
	"  var scale = (W - 2 * PAD) / t.w;\n" \
	"  for (var i = 0; i < frames.length; i++) {\n" \
	"    var f = frames[i];\n" \
	"    var inside = f.x >= t.x && f.x + f.w <= t.x + t.w && f.d >= t.d;\n" \
	"    var above = f.d < t.d && f.x <= t.x && f.x + f.w >= t.x + t.w;\n" \
	"    f.g.classList.toggle('hide', !inside && !above);\n" \
	"    f.g.classList.toggle('parent', above);\n" \
	"    if (inside) place(f, t.x, scale);\n" \
	"    else if (above) { f.rect.setAttribute('x', PAD); f.rect.setAttribute('width', W - 2 * PAD);\n" \
	"      f.text.setAttribute('x', PAD + 3); f.text.textContent = label(f, W - 2 * PAD); }\n" \
	"  }\n" \
	"  document.getElementById('reset').classList.remove('hide');\n" \
	"}\n" \
	"function unzoom() {\n" \
	"  zoomed = null;\n" \
	"  var scale = (W - 2 * PAD) / (total || 1);\n" \
	"  for (var i = 0; i < frames.length; i++) {\n" \
	"    var f = frames[i];\n" \
	"    f.g.classList.remove('hide'); f.g.classList.remove('parent'); place(f, 0, scale);\n" \
	"  }\n" \
	"  document.getElementById('reset').classList.add('hide');\n" \
	"}\n" \
	"function search(term) {\n" \
	"  var re;\n" \
	"  try { re = new RegExp(term, ignoreCase ? 'i' : ''); } catch (e) { alert('Bad regular expression: ' + e.message); return; }\n" \
	"  searching = term;\n" \
	"  var hits = [];\n" \
	"  for (var i = 0; i < frames.length; i++) {\n" \
	"    var f = frames[i], m = f.d > 0 && re.test(f.name);\n" \
	"    f.rect.classList.toggle('matched', m);\n" \
	"    if (m) hits.push([f.x, f.x + f.w]);\n" \
	"  }\n" \
	"  /* count each sample once: a match inside another match adds nothing */\n" \
	"  hits.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });\n" \
	"  var covered = 0, end = -1;\n" \
	"  for (var j = 0; j < hits.length; j++) {\n" \
	"    var s = Math.max(hits[j][0], end), e = hits[j][1];\n" \
	"    if (e > s) { covered += e - s; end = e; }\n" \
	"  }\n" \
	"  var pct = total ? 100 * covered / total : 0;\n" \
	"  matchedText.firstChild.nodeValue = 'Matched: ' + pct.toFixed(1) + '%';\n" \
	"  document.getElementById('search').firstChild.nodeValue = 'Reset Search';\n" \
	"}\n" \
	"function clearSearch() {\n" \
	"  searching = null;\n" \
	"  for (var i = 0; i < frames.length; i++) frames[i].rect.classList.remove('matched');\n" \
	"  matchedText.firstChild.nodeValue = ' ';\n" \
	"  document.getElementById('search').firstChild.nodeValue = 'Search';\n" \
	"}\n" \
	"function save() {\n" \
	"  if (!window.history || !history.replaceState) return;\n" \
	"  var p = new URLSearchParams();\n" \
	"  if (zoomed) { p.set('x', zoomed.x); p.set('d', zoomed.d); }\n" \
	"  if (searching !== null) p.set('s', searching);\n" \
	"  if (ignoreCase) p.set('i', '1');\n" \
	"  var q = p.toString();\n" \
	"  try { history.replaceState(null, '', location.pathname + (q ? '?' + q : '')); } catch (e) {}\n" \
	"}\n" \
	"function restore() {\n" \
	"  var p = new URLSearchParams(location.search);\n" \
	"  if (p.get('i') === '1') { ignoreCase = true; document.getElementById('case').firstChild.nodeValue = 'IC'; }\n" \
	"  if (p.has('x')) {\n" \
	"    var x = +p.get('x'), d = +p.get('d');\n" \
	"    for (var i = 0; i < frames.length; i++)\n" \
	"      if (frames[i].x === x && frames[i].d === d) { zoom(frames[i]); break; }\n" \
	"  }\n" \
	"  if (p.has('s')) search(p.get('s'));\n" \
	"}\n" \
	"window.addEventListener('load', init);\n"

#endif
