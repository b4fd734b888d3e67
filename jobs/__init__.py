"""Unattended entry points (cycle, listen, backup, backfill, train, ...) and the `signaldesk`
command line."""
