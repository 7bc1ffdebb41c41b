"""medpos terminal/risk."""
