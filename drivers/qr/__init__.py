"""medpos drivers/qr."""
