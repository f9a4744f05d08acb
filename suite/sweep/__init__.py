"""The sweep: the one loop over planned jobs (bench, bundles, fleet) and what it prints at the end."""
