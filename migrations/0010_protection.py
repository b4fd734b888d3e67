"""Protection: what the desk needs to keep every position covered through crashes, faults and exits.

- `trades.initial_stop`: the stop the trade was planned with (the trailing stop's unit of distance
  after TP1).
- `trades.exit_requested`: an exit a person or the desk asked for (`manual`, `emergency`), finished
  by trade management even when the exchange's asynchronous cancels take more than one step.
- `trades.origin`: `signal` for the desk's own trades, `adopted` for an exchange position found
  without a desk trade (it is protected like any other trade and the person is told).
- `orders.cancel_reason`: why the desk asked to cancel an order; set before the cancel is sent, so
  an order the desk withdrew is never reported as cancelled by someone else, and a stop being
  cancelled never counts as cover.
- `orders.posted_at` / `orders.post_ended_at`: the wall-clock moments just before the order's POST
  and when it returned or failed; they bound the moment the exchange can have created the order,
  which is how a lost answer is matched to the right order (`created_at` is the management step's
  time, which a replay sets).
- `paper_orders.order_type`: `LOSSCUT` for the paper exchange's loss-cut of a position (GMO's
  per-position `losscutPrice`), kept as a hidden stop that fills with the 0.5 % loss-cut fee;
  `NORMAL` otherwise.
"""


def migrate(db) -> None:
    """Add the protection columns to trades and orders."""
    db.execute("ALTER TABLE trades ADD COLUMN initial_stop TEXT")
    db.execute("ALTER TABLE trades ADD COLUMN exit_requested TEXT")
    db.execute("ALTER TABLE trades ADD COLUMN origin TEXT NOT NULL DEFAULT 'signal'")
    db.execute("ALTER TABLE orders ADD COLUMN cancel_reason TEXT")
    db.execute("ALTER TABLE orders ADD COLUMN posted_at TEXT")
    db.execute("ALTER TABLE orders ADD COLUMN post_ended_at TEXT")
    db.execute("ALTER TABLE paper_orders ADD COLUMN order_type TEXT NOT NULL DEFAULT 'NORMAL'")
