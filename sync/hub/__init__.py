"""medpos sync/hub."""
