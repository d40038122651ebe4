"""What Royal Mail's merchant guide promises, as the numbers and statuses the code keeps.

The guide ("Integrating your BigCommerce store with Click & Drop"), under "Store order status and
download frequency": "Click & Drop downloads physical orders that are in the 'Awaiting Shipment'
status and which are no more than 7 days old. [...] Orders that are in the correct status will
download into Click & Drop every 10-15 minutes and data from Click & Drop will update into your
store every 30 minutes." And, of "Mark orders as despatched": "your items will be marked as
'Complete' in your BigCommerce store". The settings take their defaults from here; the README's
"The guide in the code" maps each promise to the module that keeps it and the test that proves it.
"""

from __future__ import annotations

from typing import Final

from common.bigcommerce.statuses import AWAITING_SHIPMENT, COMPLETED

DOWNLOADED_STATUS_ID: Final = AWAITING_SHIPMENT
"""'Awaiting Shipment': a new channel's `order_status_ids` (the column default of `channels`)."""
DESPATCHED_STATUS_ID: Final = COMPLETED
"""'Complete(d)': where a despatched order moves by default (`despatched_order_status` 'completed')."""

ORDER_MAX_AGE_DAYS: Final = 7
"""'no more than 7 days old': the download window (`ORDER_MAX_AGE_DAYS`)."""
POLL_INTERVAL_MIN_SECONDS: Final = 10 * 60.0
POLL_INTERVAL_MAX_SECONDS: Final = 15 * 60.0
"""'every 10-15 minutes': each active channel is polled once in a random interval between these."""
FLUSH_INTERVAL_SECONDS: Final = 30 * 60.0
"""'update into your store every 30 minutes': the status writer's flush period."""
