"""medpos sync."""
