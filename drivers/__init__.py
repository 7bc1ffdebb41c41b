"""medpos drivers."""
