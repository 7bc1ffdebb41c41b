"""medpos drivers/printer."""
