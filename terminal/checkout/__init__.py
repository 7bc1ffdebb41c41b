"""medpos terminal/checkout."""
