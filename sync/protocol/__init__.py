"""medpos sync/protocol."""
