"""medpos terminal."""
