"""Returns (RMA): a customer sends back shipped items of a completed order (CONTRACT.md §6b)."""
