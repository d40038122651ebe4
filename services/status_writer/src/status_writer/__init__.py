"""The status writer: Click & Drop despatches written back to BigCommerce as shipments and order statuses."""
