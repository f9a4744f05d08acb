"""``python -m suite`` is ``edgeq`` (for source checkouts without the console script)."""

from suite.cli.main import main

main()
