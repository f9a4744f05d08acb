"""Runtimes load an Artifact on this machine and run batches. Run side: numpy + the runtime library."""
