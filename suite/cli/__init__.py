"""The ``edgeq`` command line: ``main.py`` is the console script; one module per command group registers
its commands on the typer app of ``app.py``; ``options.py`` declares the sweep options once."""
