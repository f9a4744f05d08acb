"""Publishing: records -> leaderboard rows -> Markdown, CSV, JSON, one static HTML page, Pareto plots.

One module per output, so each can be read (and tested) alone:

- ``rows``:     records -> one flat row per record (pandas), the documented column set, speed-up, Pareto marks
- ``pareto``:   the non-dominated front (pure Python) and the matplotlib plots of it
- ``markdown``: the per-target README, the cross-target table, the snapshot index
- ``md_table``: a task's table in the per-target README
- ``html``:     ``index.html``, one page for every target, a table per task, sortable and filterable with no network
- ``task_kind``: a task's kind from its rows, and so which declared columns its tables show
- ``legend``:   what each flag and mark means, for every page that shows them
- ``build``:    writes all of it for a set of records (``suite.publish.leaderboard`` is the entry point)

The records are the source of truth: everything here can be rebuilt from them (``edgeq publish --from``).
pandas and matplotlib are imported inside functions so that importing the package costs nothing.
"""
