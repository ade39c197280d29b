"""Customer email: one per (order, event), shared by every flow."""
