"""medpos drivers/card."""
