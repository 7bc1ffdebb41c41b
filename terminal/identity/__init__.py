"""medpos terminal/identity."""
