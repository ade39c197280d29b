"""Delivery: one durable workflow per parcel, from the carrier's pickup to the customer's door
(and the review request after), driven by carrier events (PRODUCT.md §6d)."""
