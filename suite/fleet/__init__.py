"""A lab fleet on Celery + Redis + one MLflow server: many boards, one leaderboard.

- ``config``   broker URL and password from the environment, visibility timeout from the profile
- ``app``      the Celery app: JSON only, late acks, prefetch 1, one queue per profile
- ``transfer`` bundles made reachable to workers (MLflow artifact store or a shared folder) and fetched
- ``worker``   ``edgeq worker --target T``: consume queue T, run each job of a bundle, send the record back
- ``dispatch`` ``edgeq bench --fleet``: prepare bundles, enqueue, collect records, publish

A fleet job *is* a bundle job (suite/bundle/carry.py) delivered by Celery instead of carried by hand, so the
two paths measure the same way. Nothing here is a scheduler of our own: Celery delivers, acknowledges
late and redelivers; Redis keeps the queues; MLflow keeps the runs and serves the bundles.
"""
