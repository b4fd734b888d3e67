"""The offline demo and its simulator: a local Telegram Bot API and the real bot stepped by a replay
clock."""
