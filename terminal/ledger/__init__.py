"""medpos terminal/ledger."""
