"""Purchase orders to suppliers (CONTRACT.md §6f): one `PurchaseOrderWorkflow` per (supplier,
SKU) collects the shortfalls of backordered orders and fills them when the supplier delivers."""
