"""signaldesk: the shared, framework-free domain package (never imports telegram, bot or jobs)."""

__version__ = "0.1.0"
