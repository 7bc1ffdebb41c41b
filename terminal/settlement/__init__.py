"""medpos terminal/settlement."""
