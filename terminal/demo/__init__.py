"""medpos terminal/demo."""
