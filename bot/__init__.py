"""The Telegram daemon: wiring, auth gate, handlers, periodic jobs and message views (the only user
of telegram)."""
