"""medpos terminal/web."""
