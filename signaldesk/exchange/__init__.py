"""The exchange boundary: one interface (`Exchange`), a live GMO Coin client and a paper exchange
behind it."""
