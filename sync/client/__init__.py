"""medpos sync/client."""
