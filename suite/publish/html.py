"""``index.html``: one static page with every target, sortable and filterable, readable on a phone.

The page must open from a file, offline (a published snapshot is read from a checkout or an archive),
so it loads nothing: no CDN script, no web font, no fetch. The table is rendered here, complete, so it
reads even with scripts off; a small inline script (hand-written, about 60 lines) adds sorting by any
column and filtering by target, task, method and Pareto front. A vendored table library would be a
larger file to keep up to date than the few lines it replaces. Numbers sort on their raw values
(``data-v``), never on the formatted text; missing values sort last in both directions.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from suite.publish import fmt
from suite.records.fields import ALL_KINDS, COLUMN_FIELDS, Field, shown_for

# (header, kind, cell text, sort value). kind "num" sorts numerically, "text" alphabetically.
Cell = Callable[[Any], Any]
#: Columns only one task kind fills (a language model's metric and token timing, an encoder's cosine), and the memory columns:
#: headed and formatted as declared in suite.records.fields.
KIND_FIELDS = [f for kind in ALL_KINDS for f in shown_for(kind)]
MEMORY_FIELDS = [f for f in COLUMN_FIELDS if f.block == "memory" and f.header]
#: Achieved GOPS and % of the peak (suite.records.fields), next to the power column.
EFFICIENCY_FIELDS = [f for f in COLUMN_FIELDS if f.block == "efficiency" and f.header]


def _declared(field: Field) -> tuple[str, str, Cell, Cell]:
    return (field.short or field.header or str(field.column), "num", field.cell, lambda r: r[field.column])


COLUMNS: list[tuple[str, str, Cell, Cell]] = [
    ("method", "text", lambda r: r["label"], lambda r: r["label"]),
    ("top-1 %", "num", lambda r: fmt.pct(r["top1"]), lambda r: r["top1"]),
    ("Δ pts", "num", fmt.delta, lambda r: r["delta_top1"]),
    (
        "p50 ms",
        "num",
        lambda r: fmt.with_spread(r["p50_ms"], r["latency_cv"], r["latency_runs"], ".4f", r["p50_ci_pct"]),
        lambda r: r["p50_ms"],
    ),
    ("speed-up", "num", fmt.speedup, lambda r: None if r["simulated"] else r["speedup"]),
    (
        "items/s",
        "num",
        lambda r: fmt.with_spread(
            r["items_per_s"], r["throughput_cv"], r["throughput_runs"], ",.0f", r["items_per_s_ci_pct"]
        ),
        lambda r: r["items_per_s"],
    ),
    *(_declared(f) for f in KIND_FIELDS if f.block == "accuracy"),
    *(_declared(f) for f in KIND_FIELDS if f.block != "accuracy"),
    ("flags", "text", lambda r: (r["flags"] or "").replace(",", ", "), lambda r: r["flags"]),
    ("power", "num", lambda r: fmt.power(r, 36), lambda r: r["mj_per_item"]),
    *(_declared(f) for f in EFFICIENCY_FIELDS),
    (fmt.SIZE_HEADER, "num", fmt.size, lambda r: r["size_bytes"]),
    ("target", "text", lambda r: r["target"], lambda r: r["target"]),
    ("task", "text", lambda r: r["task"], lambda r: r["task"]),
    ("W/A", "num", fmt.bits, lambda r: r["w_bits"]),
    ("runtime", "text", fmt.runtime, fmt.runtime),
    ("toolkit", "text", fmt.toolkit, fmt.toolkit),
    ("provider", "text", lambda r: r["provider"], lambda r: r["provider"]),
    ("family", "text", lambda r: r["family"], lambda r: r["family"]),
    ("sim→real pts", "num", lambda r: fmt.pts(r["sim_to_real_gap"]), lambda r: r["sim_to_real_gap"]),
    ("top-5 %", "num", lambda r: fmt.pct(r["top5"]), lambda r: r["top5"]),
    ("p90 ms", "num", lambda r: fmt.num(r["p90_ms"], ".4f"), lambda r: r["p90_ms"]),
    *(_declared(f) for f in MEMORY_FIELDS),
    ("date", "text", lambda r: r["date"], lambda r: r["date"]),
    ("commit", "text", fmt.commit, fmt.commit),
]

STYLE = """
:root { --line: #d0d7de; --muted: #57606a; --front: #fff8c5; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; padding: 0.75rem; max-width: 1400px; color: #1f2328; }
h1 { font-size: 1.4rem; margin: 0.2rem 0; } h2 { font-size: 1.15rem; margin-top: 1.5rem; }
p.meta { color: var(--muted); margin: 0.2rem 0 0.6rem; font-size: 0.9rem; }
form { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: end; margin: 0.5rem 0; }
form label { display: flex; flex-direction: column; font-size: 0.8rem; color: var(--muted); }
form label.check { flex-direction: row; align-items: center; gap: 0.3rem; font-size: 0.9rem; color: inherit; }
select, input[type=search] { font: inherit; padding: 0.35rem 0.5rem; border: 1px solid var(--line); border-radius: 6px; min-width: 9rem; }
output { font-size: 0.9rem; color: var(--muted); }
.scroll { overflow: auto; max-height: 78vh; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: separate; border-spacing: 0; font-size: 0.85rem; white-space: nowrap; width: 100%; }
th, td { padding: 0.35rem 0.6rem; border-bottom: 1px solid var(--line); text-align: right; }
th { position: sticky; top: 0; background: #f6f8fa; z-index: 2; }
th button { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer; color: inherit; }
th[aria-sort=ascending] button::after { content: " ▲"; } th[aria-sort=descending] button::after { content: " ▼"; }
td.text, th.text { text-align: left; }
td:first-child, th:first-child { position: sticky; left: 0; background: #fff; z-index: 1; text-align: left; border-right: 1px solid var(--line); }
th:first-child { z-index: 3; background: #f6f8fa; }
tr.front td:first-child { background: var(--front); }
tr.failed td { color: #cf222e; }
.star { color: #9a6700; }
figure { margin: 0.5rem 0 1rem; } figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { font-size: 0.85rem; color: var(--muted); }
#cross { width: auto; }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 520px), 1fr)); gap: 0.75rem; }
@media (max-width: 640px) {
  body { font-size: 14px; padding: 0.5rem; }
  form label { flex: 1 1 45%; } select, input[type=search] { min-width: 0; width: 100%; }
  table { font-size: 0.8rem; } th, td { padding: 0.3rem 0.45rem; }
}
"""

SCRIPT = """
(function () {
  var table = document.getElementById('board'), body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var f = { target: document.getElementById('f-target'), task: document.getElementById('f-task'),
            method: document.getElementById('f-method'), pareto: document.getElementById('f-pareto') };
  var count = document.getElementById('count');
  function filter() {
    var t = f.target.value, k = f.task.value, m = f.method.value.trim().toLowerCase(), p = f.pareto.checked, shown = 0;
    rows.forEach(function (tr) {
      var ok = (!t || tr.dataset.target === t) && (!k || tr.dataset.task === k) && (!p || tr.dataset.pareto === '1') &&
               (!m || tr.dataset.method.toLowerCase().indexOf(m) >= 0 || tr.dataset.label.toLowerCase().indexOf(m) >= 0);
      tr.hidden = !ok; if (ok) shown++;
    });
    count.value = shown + ' of ' + rows.length + ' rows';
  }
  function sortBy(th) {
    var col = th.cellIndex, num = th.dataset.type === 'num';
    var dir = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending', sign = dir === 'ascending' ? 1 : -1;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', dir);
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v;
      if (x === '' || x === undefined) return (y === '' || y === undefined) ? 0 : 1;
      if (y === '' || y === undefined) return -1;
      return sign * (num ? parseFloat(x) - parseFloat(y) : x.localeCompare(y));
    });
    rows.forEach(function (tr) { body.appendChild(tr); });
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    th.querySelector('button').addEventListener('click', function () { sortBy(th); });
  });
  ['target', 'task', 'pareto'].forEach(function (k) { f[k].addEventListener('change', filter); });
  f.method.addEventListener('input', filter);
  document.getElementById('filters').addEventListener('submit', function (e) { e.preventDefault(); });
  filter();
})();
"""


def _v(value: Any) -> str:
    """The sort value of a cell: a plain number, the text, or '' when missing."""
    if fmt.missing(value):
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)) or hasattr(value, "item"):
        return repr(float(value))
    return str(value)


def _row(r: Any) -> str:
    classes = (["front"] if r["pareto"] else []) + (["failed"] if r["status"] != "ok" else [])
    attrs = {
        "data-target": r["target"],
        "data-task": r["task"],
        "data-method": r["method"],
        "data-label": r["label"],
        "data-pareto": "1" if r["pareto"] else "0",
    }
    cells = []
    for i, (header, kind, text, value) in enumerate(COLUMNS):
        shown = text(r)
        shown = fmt.DASH if fmt.missing(shown) else str(shown)
        if i == 0:
            star = ' <span class="star" title="on the Pareto front">★</span>' if r["pareto"] else ""
            failed = f" <strong>{escape(str(r['status']))}</strong>" if r["status"] != "ok" else ""
            body = escape(shown) + star + failed
            if r["status"] != "ok" and not fmt.missing(r["error"]):
                body = f'<span title="{escape(str(r["error"]))}">{body}</span>'
        else:
            body = escape(shown)
        title = ""
        if header == "power" and not fmt.missing(r["power_reason"]):  # the cell has the head, the tooltip all
            title = f' title="{escape(" ".join(str(r["power_reason"]).split()))}"'
        cells.append(f'<td class="{kind}"{title} data-v="{escape(_v(value(r)))}">{body}</td>')
    attr = " ".join(f'{k}="{escape(str(v))}"' for k, v in attrs.items())
    cls = f' class="{" ".join(classes)}"' if classes else ""
    return f"<tr{cls} {attr}>" + "".join(cells) + "</tr>"


def _options(values: list[str]) -> str:
    return '<option value="">all</option>' + "".join(
        f'<option value="{escape(v)}">{escape(v)}</option>' for v in values
    )


def page(
    df,
    plots: dict[tuple[str, str], list[str]],
    cross_md_rows: list[dict[str, Any]],
    title: str,
    note: str,
    toolkit_table: str = "",
    landscape: tuple[str, str, str] | None = None,
) -> str:  # type: ignore[no-untyped-def]
    """The whole page. ``plots`` maps (target, task) to image paths relative to the page;
    ``toolkit_table`` is the cross-toolkit view (``suite.publish.toolkits.html_table``); ``landscape``:
    the landscape chart's PNG and SVG paths relative to the page and the line that says what is on it."""
    targets = sorted(df["target"].unique())
    tasks = sorted(df["task"].unique())
    head = "".join(
        f'<th class="{kind}" data-type="{kind}" scope="col"><button type="button">{escape(name)}</button></th>'
        for name, kind, _, _ in COLUMNS
    )
    body = "\n".join(_row(r) for _, r in df.iterrows())
    figures = []
    for (target, task), images in sorted(plots.items()):
        for image in images:
            axis = "energy per item" if image.endswith("-energy.png") else "p50 latency"
            figures.append(
                f'<figure><img src="{escape(image)}" alt="{escape(task)} on {escape(target)}: top-1 against {axis}" loading="lazy">'
                f"<figcaption>{escape(task)} on {escape(target)}: top-1 against {axis}; the front is drawn, dominated methods are faded.</figcaption></figure>"
            )
    cross = _cross_table(cross_md_rows, targets)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p class="meta">{escape(note)}</p>
<form id="filters" role="search">
<label>Target <select id="f-target">{_options(targets)}</select></label>
<label>Task <select id="f-task">{_options(tasks)}</select></label>
<label>Method <input id="f-method" type="search" placeholder="filter, e.g. ptq" autocomplete="off"></label>
<label class="check"><input id="f-pareto" type="checkbox"> Pareto front only</label>
<output id="count">{len(df)} rows</output>
</form>
<div class="scroll">
<table id="board">
<thead><tr>{head}</tr></thead>
<tbody>
{body}
</tbody>
</table>
</div>
<p class="meta">Click a column to sort (again to reverse). Deployed accuracy through the timed runtime; LoadGen SingleStream p50
(± the 95% confidence interval; cv the run-to-run spread of fixed-count rows) and Offline items/s; Δ n.s. where the paired
test finds no significant difference from fp32; speed-up against fp32 on the same runtime, never for simulated methods; ★ on the
accuracy / p50 Pareto front of its target and task. Per-target tables, CSV and JSON: {" · ".join(f'<a href="{escape(t)}/README.md">{escape(t)}</a>' for t in targets)}.</p>
<h2>Across targets</h2>
{cross}
<h2>Across toolkits</h2>
<p class="meta">The best int8 deployment of each quantization toolkit on each runtime; Δ and speed-up against fp32 on the same runtime.</p>
{toolkit_table or '<p class="meta">No int8 results with a toolkit yet.</p>'}
<h2>Landscape</h2>
{_landscape(landscape)}
<h2>Pareto fronts</h2>
<div class="plots">
{"".join(figures) or '<p class="meta">No timed results to plot.</p>'}
</div>
<script>{SCRIPT}</script>
</body>
</html>
"""


def _landscape(landscape: tuple[str, str, str] | None) -> str:
    if landscape is None:
        return '<p class="meta">No landscape chart.</p>'
    png, svg, caption = (escape(part) for part in landscape)
    return (
        f'<figure id="landscape"><a href="{svg}"><img src="{png}" alt="Throughput against power: commercial edge '
        f'processors at their datasheet peak and the measured records"></a>'
        f"<figcaption>{caption} The image links to the SVG at full size.</figcaption></figure>"
    )


def _cross_table(rows: list[dict[str, Any]], targets: list[str]) -> str:
    if not rows:
        return '<p class="meta">No results.</p>'
    head = '<th class="text" scope="col">task</th><th class="text" scope="col">method</th>' + "".join(
        f'<th scope="col">{escape(t)}<br><small>top-1 % · p50 ms</small></th>' for t in targets
    )
    body = []
    for r in rows:
        cells = [f'<td class="text">{escape(r["task"])}</td>', f'<td class="text">{escape(str(r["label"]))}</td>']
        for t in targets:
            top1, p50 = r.get(f"{t}:top1"), r.get(f"{t}:p50_ms")
            if top1 is None and p50 is None:
                cells.append(f"<td>{fmt.DASH}</td>")
                continue
            speed = "not claimed" if p50 is None else f"{fmt.num(p50, '.4f')} ms"
            runtime = r.get(f"{t}:runtime") or ""
            cells.append(f"<td>{fmt.pct(top1)} · {speed} <small>({escape(str(runtime))})</small></td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="scroll"><table id="cross"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
