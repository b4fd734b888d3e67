"""The trader's Telegram: the names of the people who decide, and where each trade's thread lives.

`people` keeps the Telegram first name and username of each allowed user as last seen when they
tapped or typed, so cards say who approved (the audit log keeps the numeric id). `trade_threads`
keeps each trade's status message (a reply under its signal's card, edited as the trade moves),
what it last showed, and whether the trade's closing message was sent, so a lost edit or message is
sent again from the rows.
"""


def migrate(db) -> None:
    """Create people and trade_threads."""
    db.execute(
        """CREATE TABLE people (
            user_id INTEGER PRIMARY KEY,
            first_name TEXT,
            username TEXT,
            seen_at TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TABLE trade_threads (
            trade_id INTEGER PRIMARY KEY REFERENCES trades (id),
            chat_id INTEGER NOT NULL,
            message_id INTEGER,
            shown TEXT,
            closed_told INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        )"""
    )
