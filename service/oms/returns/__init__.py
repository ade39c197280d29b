"""Returns (RMA): a customer sends back shipped items of a completed order (PRODUCT.md §6b)."""
