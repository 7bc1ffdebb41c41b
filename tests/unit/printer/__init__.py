"""Receipts: ESC/POS and HTML rendering, parsed back."""
