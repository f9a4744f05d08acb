"""``index.html``: one static page with every target, a table per task, sortable and filterable, readable
on a phone.

The page must open from a file, offline (a published snapshot is read from a checkout or an archive),
so it loads nothing: no CDN script, no web font, no fetch. The tables are rendered here, complete, so they
read even with scripts off; a small inline script (hand-written, about 70 lines) adds sorting by any
column and filtering by target, task, method and Pareto front. A vendored table library would be a
larger file to keep up to date than the few lines it replaces. Numbers sort on their raw values
(``data-v``), never on the formatted text; missing values sort last in both directions.

Each task is a section headed by its name, with a table of only the columns its kind has: a column shows
one leaderboard field, and the field's declared kinds (``suite.records.fields``) decide where it appears
(``suite.publish.task_kind``). Power is a column only in a task where some row measured it; otherwise
one note under the table says why not, instead of the same reason on every row. Every flag and mark a
cell can carry is defined once in the legend (``suite.publish.legend``), and each flag links to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any

from suite.publish import fmt
from suite.publish.legend import FLAG_MEANINGS, MARK_MEANINGS, flag_anchor, flags_of
from suite.publish.task_kind import declared_for, task_kind
from suite.records.fields import ALL_KINDS, BY_COLUMN, COLUMN_FIELDS, Field, shown_for

Cell = Callable[[Any], Any]


@dataclass(frozen=True)
class Column:
    """One column of a task's table: its header, how it sorts (``num`` or ``text``), the cell's text and
    sort value, and the leaderboard field it shows (``source``), whose declared kinds decide which task
    tables have it (None: every kind)."""

    header: str
    type: str
    text: Cell
    value: Cell
    source: str | None

    @property
    def doc(self) -> str:
        """What the column holds (the field's declaration), for the header's tooltip."""
        return BY_COLUMN[self.source].doc if self.source else ""


def _declared(field: Field) -> Column:
    column = str(field.column)
    return Column(field.short or field.header or column, "num", field.cell, lambda r: r[column], column)


def _field(header: str, source: str, kind: str = "num", text: Cell | None = None) -> Column:
    return Column(header, kind, text or (lambda r: r[source]), lambda r: r[source], source)


#: Columns only one task kind fills (a language model's metric and token timing, an encoder's cosine), and the
#: memory columns: headed and formatted as declared in suite.records.fields.
KIND_FIELDS = [f for kind in ALL_KINDS for f in shown_for(kind)]
MEMORY_FIELDS = [f for f in COLUMN_FIELDS if f.block == "memory" and f.header]
#: Achieved GOPS and % of the peak (suite.records.fields), next to the power column.
EFFICIENCY_FIELDS = [f for f in COLUMN_FIELDS if f.block == "efficiency" and f.header]
POWER = "power"

COLUMNS: list[Column] = [
    _field("method", "label", "text"),
    _field("target", "target", "text"),
    _field("top-1 %", "top1", text=lambda r: fmt.pct(r["top1"])),
    _field("Δ pts", "delta_top1", text=fmt.delta),
    *(_declared(f) for f in KIND_FIELDS if f.block == "accuracy"),
    Column(
        "p50 ms",
        "num",
        lambda r: fmt.with_spread(r["p50_ms"], r["latency_cv"], r["latency_runs"], ".4f", r["p50_ci_pct"]),
        lambda r: r["p50_ms"],
        "p50_ms",
    ),
    Column("speed-up", "num", fmt.speedup, lambda r: None if r["simulated"] else r["speedup"], "speedup"),
    Column(
        "items/s",
        "num",
        lambda r: fmt.with_spread(
            r["items_per_s"], r["throughput_cv"], r["throughput_runs"], ",.0f", r["items_per_s_ci_pct"]
        ),
        lambda r: r["items_per_s"],
        "items_per_s",
    ),
    *(_declared(f) for f in KIND_FIELDS if f.block != "accuracy"),
    _field("flags", "flags", "text"),
    Column(POWER, "num", lambda r: fmt.power(r, 36), lambda r: r["mj_per_item"], "avg_w"),
    *(_declared(f) for f in EFFICIENCY_FIELDS),
    Column(fmt.SIZE_HEADER, "num", fmt.size, lambda r: r["size_bytes"], "size_bytes"),
    Column("W/A", "num", fmt.bits, lambda r: r["w_bits"], "w_bits"),
    Column("runtime", "text", fmt.runtime, fmt.runtime, "runtime"),
    Column("toolkit", "text", fmt.toolkit, fmt.toolkit, "toolkit"),
    _field("provider", "provider", "text"),
    _field("family", "family", "text"),
    _field("sim→real pts", "sim_to_real_gap", text=lambda r: fmt.pts(r["sim_to_real_gap"])),
    _field("top-5 %", "top5", text=lambda r: fmt.pct(r["top5"])),
    _field("p90 ms", "p90_ms", text=lambda r: fmt.num(r["p90_ms"], ".4f")),
    *(_declared(f) for f in MEMORY_FIELDS),
    _field("date", "date", "text"),
    Column("commit", "text", fmt.commit, fmt.commit, "commit"),
]


def power_measured(group: Any) -> bool:
    """Whether any row of a task's rows measured power (only then is power a column of its table)."""
    return bool((group["power_status"] == "measured").any())


def columns_for(kind: str, with_power: bool) -> list[Column]:
    """The columns of a table of ``kind``'s task: those whose field is declared for ``kind``; the power
    column only ``with_power``."""
    return [c for c in COLUMNS if declared_for(c.source, kind) and (with_power or c.header != POWER)]


STYLE = """
:root { --line: #d0d7de; --muted: #57606a; --front: #fff8c5; --head: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; padding: 0.75rem; max-width: 1400px; color: #1f2328; }
h1 { font-size: 1.4rem; margin: 0.2rem 0; } h2 { font-size: 1.2rem; margin-top: 1.6rem; } h3 { font-size: 1rem; margin: 1rem 0 0.4rem; }
section.task { margin-top: 1.2rem; } section.task > h2 { margin: 0.4rem 0; border-bottom: 1px solid var(--line); padding-bottom: 0.2rem; }
p.meta { color: var(--muted); margin: 0.2rem 0 0.6rem; font-size: 0.9rem; }
form { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: end; margin: 0.5rem 0; }
form label { display: flex; flex-direction: column; font-size: 0.8rem; color: var(--muted); }
form label.check { flex-direction: row; align-items: center; gap: 0.3rem; font-size: 0.9rem; color: inherit; }
select, input[type=search] { font: inherit; padding: 0.35rem 0.5rem; border: 1px solid var(--line); border-radius: 6px; min-width: 9rem; }
output { font-size: 0.9rem; color: var(--muted); }
.scroll { overflow: auto; max-height: 78vh; max-width: 100%; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: separate; border-spacing: 0; font-size: 0.85rem; white-space: nowrap; width: 100%; }
th, td { padding: 0.35rem 0.6rem; border-bottom: 1px solid var(--line); text-align: right; }
th { position: sticky; top: 0; background: var(--head); z-index: 2; cursor: pointer; user-select: none; }
th:hover { background: #eaeef2; }
th button { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer; color: inherit; }
th[aria-sort=ascending] button::after { content: " ▲"; } th[aria-sort=descending] button::after { content: " ▼"; }
td.text, th.text { text-align: left; }
td:first-child, th:first-child { position: sticky; left: 0; background: #fff; z-index: 1; text-align: left; border-right: 1px solid var(--line); }
th:first-child { z-index: 3; background: var(--head); }
tr.front td:first-child { background: var(--front); }
tr.failed td { color: #cf222e; }
.star { color: #9a6700; }
a.flag { display: inline-block; padding: 0 0.35rem; margin-right: 0.2rem; border: 1px solid var(--line); border-radius: 1rem; font-size: 0.8em; color: inherit; text-decoration: none; background: #f6f8fa; }
#legend dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 0.8rem; margin: 0.4rem 0; font-size: 0.9rem; }
#legend dt { font-weight: 600; } #legend dd { margin: 0; }
#legend dt:target, #legend dt:target + dd { background: var(--front); }
figure { margin: 0.5rem 0 1rem; } figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { font-size: 0.85rem; color: var(--muted); }
#cross { width: auto; }
.plots { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 520px), 1fr)); gap: 0.75rem; }
@media (max-width: 640px) {
  body { font-size: 14px; padding: 0.5rem; }
  form label { flex: 1 1 45%; } select, input[type=search] { min-width: 0; width: 100%; }
  table { font-size: 0.8rem; } th, td { padding: 0.3rem 0.45rem; }
  td:first-child { white-space: normal; min-width: 7rem; max-width: 11rem; }
  #legend dl { grid-template-columns: 1fr; } #legend dd { margin-bottom: 0.3rem; }
}
"""

SCRIPT = """
(function () {
  var tables = Array.prototype.slice.call(document.querySelectorAll('table.board'));
  var sections = Array.prototype.slice.call(document.querySelectorAll('section.task'));
  var all = [];
  tables.forEach(function (table) { all = all.concat(Array.prototype.slice.call(table.tBodies[0].rows)); });
  var f = { target: document.getElementById('f-target'), task: document.getElementById('f-task'),
            method: document.getElementById('f-method'), pareto: document.getElementById('f-pareto') };
  var count = document.getElementById('count');
  function filter() {
    var t = f.target.value, k = f.task.value, m = f.method.value.trim().toLowerCase(), p = f.pareto.checked, shown = 0;
    sections.forEach(function (s) { s.hidden = !!k && s.dataset.task !== k; });
    all.forEach(function (tr) {
      var ok = (!t || tr.dataset.target === t) && (!k || tr.dataset.task === k) && (!p || tr.dataset.pareto === '1') &&
               (!m || tr.dataset.method.toLowerCase().indexOf(m) >= 0 || tr.dataset.label.toLowerCase().indexOf(m) >= 0);
      tr.hidden = !ok; if (ok) shown++;
    });
    count.value = shown + ' of ' + all.length + ' rows';
  }
  function sortBy(table, th) {
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
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
  // The whole header cell sorts (its padding too); the button inside it takes the keyboard, and its
  // click bubbles up to the same listener.
  tables.forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.addEventListener('click', function () { sortBy(table, th); });
    });
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


def _flags_cell(text: Any) -> str:
    """Each flag as a link to its definition in the legend, its meaning as the tooltip."""
    flags = flags_of(text)
    if not flags:
        return fmt.DASH
    return "".join(
        f'<a class="flag" href="#{flag_anchor(f)}" title="{escape(FLAG_MEANINGS.get(f, f))}">{escape(f)}</a>'
        for f in flags
    )


def _row(r: Any, columns: list[Column]) -> str:
    classes = (["front"] if r["pareto"] else []) + (["failed"] if r["status"] != "ok" else [])
    attrs = {
        "data-target": r["target"],
        "data-task": r["task"],
        "data-method": r["method"],
        "data-label": r["label"],
        "data-pareto": "1" if r["pareto"] else "0",
    }
    cells = []
    for i, col in enumerate(columns):
        shown = col.text(r)
        shown = fmt.DASH if fmt.missing(shown) else str(shown)
        if i == 0:
            star = ' <span class="star" title="on the Pareto front">★</span>' if r["pareto"] else ""
            failed = f" <strong>{escape(str(r['status']))}</strong>" if r["status"] != "ok" else ""
            body = escape(shown) + star + failed
            if r["status"] != "ok" and not fmt.missing(r["error"]):
                body = f'<span title="{escape(str(r["error"]))}">{body}</span>'
        elif col.source == "flags":
            body = _flags_cell(r["flags"])
        elif col.header == POWER and r["power_status"] != "measured":
            body = fmt.DASH  # the reason is said once under the table, and in the tooltip
        else:
            body = escape(shown)
        title = ""
        if col.header == POWER and not fmt.missing(r["power_reason"]):
            title = f' title="{escape(" ".join(str(r["power_reason"]).split()))}"'
        cells.append(f'<td class="{col.type}"{title} data-v="{escape(_v(col.value(r)))}">{body}</td>')
    attr = " ".join(f'{k}="{escape(str(v))}"' for k, v in attrs.items())
    cls = f' class="{" ".join(classes)}"' if classes else ""
    return f"<tr{cls} {attr}>" + "".join(cells) + "</tr>"


def _options(values: list[str]) -> str:
    return '<option value="">all</option>' + "".join(
        f'<option value="{escape(v)}">{escape(v)}</option>' for v in values
    )


def _power_note(group: Any) -> str:
    """One line under a task's table: why power is missing (each reason once), or nothing."""
    unmeasured = group[(group["status"] == "ok") & (group["power_status"] != "measured")]
    if unmeasured.empty:
        return ""
    reasons = sorted(
        {
            fmt.short_reason(r["power_reason"], 120) or str(r["power_status"] or "no sensor")
            for _, r in unmeasured.iterrows()
        }
    )
    ran = int((group["status"] == "ok").sum())
    head = (
        f"Power not measured on {len(unmeasured)} of the {ran} results that ran"
        if power_measured(group)
        else "Power not measured for this task, so no power column"
    )
    return f'<p class="meta power-note">{escape(head)}: {escape("; ".join(reasons))}.</p>'


#: A plot is (the PNG shown on the page, the SVG it links to at full size; '' where there is none).
Plot = tuple[str, str]


def _figures(task: str, plots: dict[tuple[str, str], list[Plot]]) -> str:
    figures = []
    for (target, plot_task), images in sorted(plots.items()):
        if plot_task != task:
            continue
        for png, svg in images:
            axis = "energy per item" if png.endswith("-energy.png") else "p50 latency"
            alt = f"{task} on {target}: accuracy against {axis}"
            img = f'<img src="{escape(png)}" alt="{escape(alt)}" loading="lazy">'
            link = escape(svg or png)
            full = "SVG" if svg else "PNG"
            figures.append(
                f'<figure class="pareto"><a href="{link}">{img}</a>'
                f"<figcaption>{escape(target)}: accuracy against {axis}; the front is drawn, dominated methods are "
                f'faded. <a href="{link}">Full size ({full})</a>.</figcaption></figure>'
            )
    if not figures:
        return ""
    return f'<h3>Pareto fronts</h3><div class="plots">{"".join(figures)}</div>'


def _task_section(task: str, group: Any, plots: dict[tuple[str, str], list[Plot]]) -> str:
    kind = task_kind(group)
    columns = columns_for(kind, power_measured(group))
    head = "".join(
        f'<th class="{c.type}" data-type="{c.type}" scope="col"'
        + (f' title="{escape(c.doc)}"' if c.doc else "")
        + f'><button type="button">{escape(c.header)}</button></th>'
        for c in columns
    )
    body = "\n".join(_row(r, columns) for _, r in group.iterrows())
    targets = sorted(group["target"].unique())
    anchor = "task-" + "-".join(task.split())
    return f"""<section class="task" id="{escape(anchor)}" data-task="{escape(task)}" data-kind="{escape(kind)}">
<h2>{escape(task)}</h2>
<p class="meta">{escape(kind)} task · {len(group)} result(s) on {escape(", ".join(targets))}.</p>
<div class="scroll">
<table class="board" data-task="{escape(task)}">
<thead><tr>{head}</tr></thead>
<tbody>
{body}
</tbody>
</table>
</div>
{_power_note(group)}
{_figures(task, plots)}
</section>"""


def legend() -> str:
    """Every flag a row can carry and every mark a cell can show, each defined once (flags have an id
    the flag links point to)."""
    flags = "".join(
        f'<dt id="{flag_anchor(flag)}">{escape(flag)}</dt><dd>{escape(meaning)}.</dd>'
        for flag, meaning in FLAG_MEANINGS.items()
    )
    marks = "".join(f"<dt>{escape(mark)}</dt><dd>{escape(meaning)}.</dd>" for mark, meaning in MARK_MEANINGS.items())
    return (
        '<section id="legend"><h2>Legend</h2>'
        f'<h3>Flags</h3><dl class="flags">{flags}</dl>'
        f'<h3>Marks</h3><dl class="marks">{marks}</dl></section>'
    )


def page(
    df,
    plots: dict[tuple[str, str], list[Plot]],
    cross_md_rows: list[dict[str, Any]],
    title: str,
    note: str,
    toolkit_table: str = "",
    landscape: tuple[str, str, str] | None = None,
) -> str:  # type: ignore[no-untyped-def]
    """The whole page. ``plots`` maps (target, task) to its Pareto plots, each (PNG, SVG) relative to
    the page; ``toolkit_table`` is the cross-toolkit view (``suite.publish.toolkits.html_table``);
    ``landscape``: the landscape chart's PNG and SVG paths relative to the page and the line that says
    what is on it."""
    targets = sorted(df["target"].unique())
    tasks = sorted(df["task"].unique())
    sections = "\n".join(_task_section(str(task), group, plots) for task, group in df.groupby("task", sort=True))
    contents = " · ".join(f'<a href="#task-{escape("-".join(str(t).split()))}">{escape(str(t))}</a>' for t in tasks)
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
<p class="meta">Tasks: {contents} · <a href="#legend">legend</a></p>
<form id="filters" role="search">
<label>Target <select id="f-target">{_options(targets)}</select></label>
<label>Task <select id="f-task">{_options(tasks)}</select></label>
<label>Method <input id="f-method" type="search" placeholder="filter, e.g. ptq" autocomplete="off"></label>
<label class="check"><input id="f-pareto" type="checkbox"> Pareto front only</label>
<output id="count">{len(df)} rows</output>
</form>
<p class="meta">One table per task, with the columns its kind has. Click a column's header to sort (again to reverse).
Deployed accuracy through the timed runtime; LoadGen SingleStream p50 and Offline items/s; speed-up against fp32 on the
same runtime. Flags and marks are defined in the <a href="#legend">legend</a>. Per-target tables, CSV and JSON:
{" · ".join(f'<a href="{escape(t)}/README.md">{escape(t)}</a>' for t in targets)}.</p>
{sections}
{legend()}
<h2>Across targets</h2>
{cross}
<h2>Across toolkits</h2>
<p class="meta">The best int8 deployment of each quantization toolkit on each runtime; Δ and speed-up against fp32 on the same runtime.</p>
{toolkit_table or '<p class="meta">No int8 results with a toolkit yet.</p>'}
<h2>Landscape</h2>
{_landscape(landscape)}
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
