"""Parcels: stock per warehouse and the plan that splits an order into one parcel per warehouse."""
