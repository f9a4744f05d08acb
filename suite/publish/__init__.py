"""Publishing: records -> leaderboard rows -> Markdown, CSV, JSON, one static HTML page, Pareto plots.

One module per output, so each can be read (and tested) alone:

- ``rows``:     records -> one flat row per record (pandas), the documented column set, speed-up, Pareto marks
- ``pareto``:   the non-dominated front (pure Python) and the matplotlib plots of it
- ``markdown``: the per-target README tables, the cross-target table, the snapshot index
- ``html``:     ``index.html``, one page for every target, sortable and filterable with no network
- ``build``:    writes all of it for a set of records (``suite.publish.leaderboard`` is the entry point)

The records are the source of truth: everything here can be rebuilt from them (``edgeq publish --from``).
pandas and matplotlib are imported inside functions so that importing the package costs nothing.
"""
