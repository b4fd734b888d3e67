"""Backtests: history replayed through the desk's own cycle, approval and execution code on the
paper exchange."""
