"""One job: its spec, its plan, the build (prepare) half, the run half, and the process it runs in."""
