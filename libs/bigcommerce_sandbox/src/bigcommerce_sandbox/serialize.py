"""JSON shapes of v2 resources (reference §4-§6), built from the in-memory model."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bigcommerce_sandbox.formats import money, rfc2822
from bigcommerce_sandbox.models import (
    ORDER_STATUSES,
    Address,
    Hook,
    Order,
    OrderLine,
    Shipment,
    ShippingAddress,
    Store,
)

Json = dict[str, Any]

# BigCommerce's native tracking page for `shipping_provider: royalmail`.
ROYAL_MAIL_TRACKING = "https://www.royalmail.com/track-your-item#/tracking-results/{number}"


def address_json(address: Address) -> Json:
    """The address fields shared by billing and shipping addresses."""
    return {
        "first_name": address.first_name,
        "last_name": address.last_name,
        "company": address.company,
        "street_1": address.street_1,
        "street_2": address.street_2,
        "city": address.city,
        "state": address.state,
        "zip": address.zip,
        "country": address.country,
        "country_iso2": address.country_iso2,
        "phone": address.phone,
        "email": address.email,
    }


def link(api_base: str, resource: str) -> Json:
    """A v2 sub-resource link `{url, resource}`."""
    return {"url": f"{api_base}{resource}", "resource": resource}


def line_json(order: Order, line: OrderLine) -> Json:
    """An order product line (reference §4.4)."""
    tax = line.price_inc_tax - line.price_ex_tax
    body: Json = {
        "id": line.id,
        "order_id": order.id,
        "product_id": line.product_id,
        "order_address_id": line.order_address_id,
        "order_pickup_method_id": line.order_pickup_method_id,
        "name": line.name,
        "name_customer": line.name,
        "name_merchant": line.name,
        "sku": line.sku,
        "upc": "",
        "type": line.type,
        "base_price": money(line.price_ex_tax),
        "price_ex_tax": money(line.price_ex_tax),
        "price_inc_tax": money(line.price_inc_tax),
        "price_tax": money(tax),
        "base_total": money(line.price_ex_tax * line.quantity),
        "total_ex_tax": money(line.price_ex_tax * line.quantity),
        "total_inc_tax": money(line.price_inc_tax * line.quantity),
        "total_tax": money(tax * line.quantity),
        "discounted_total_inc_tax": money(line.price_inc_tax * line.quantity),
        # The spec allows a string or a number; the sandbox uses the string form.
        "weight": money(line.weight),
        "width": "0.0000",
        "height": "0.0000",
        "depth": "0.0000",
        "quantity": line.quantity,
        "quantity_shipped": line.quantity_shipped,
        "quantity_refunded": line.quantity_refunded,
        "is_refunded": line.quantity_refunded >= line.quantity,
        "refund_amount": "0.0000",
        "fixed_shipping_cost": "0.0000",
        "is_bundled_product": False,
        "parent_order_product_id": None,
        "bin_picking_number": "",
        "brand": "",
        "event_date": "",
        "wrapping_name": "",
        "wrapping_message": "",
        "wrapping_cost_ex_tax": "0.0000",
        "wrapping_cost_inc_tax": "0.0000",
        "product_options": line.options,
    }
    if line.variant_id is not None:  # absent on custom products
        body["variant_id"] = line.variant_id
    return body


def shipping_address_json(order: Order, addr: ShippingAddress, api_base: str) -> Json:
    """A shipping address (reference §4.5)."""
    lines = [ln for ln in order.lines if ln.order_address_id == addr.id]
    tax = addr.cost_inc_tax - addr.cost_ex_tax
    return {
        "id": addr.id,
        "order_id": order.id,
        **address_json(addr.address),
        "form_fields": [],
        "items_total": sum(ln.quantity for ln in lines),
        "items_shipped": sum(ln.quantity_shipped for ln in lines),
        "shipping_method": addr.shipping_method,
        "base_cost": money(addr.cost_ex_tax),
        "cost_ex_tax": money(addr.cost_ex_tax),
        "cost_inc_tax": money(addr.cost_inc_tax),
        "cost_tax": money(tax),
        "cost_tax_class_id": 2,
        "base_handling_cost": "0.0000",
        "handling_cost_ex_tax": "0.0000",
        "handling_cost_inc_tax": "0.0000",
        "handling_cost_tax": "0.0000",
        "handling_cost_tax_class_id": 2,
        "shipping_zone_id": addr.shipping_zone_id,
        "shipping_zone_name": addr.shipping_zone_name,
        "shipping_quotes": link(api_base, f"/orders/{order.id}/shipping_addresses/{addr.id}/shipping_quotes"),
    }


def consignments_json(order: Order, api_base: str, *, with_lines: bool, as_object: bool) -> Any:
    """The consignments view of an order, as BigCommerce documents `orderConsignment_Get` (reference §4.6).

    Each kind of line sits in its own consignment: physical lines to a shipping address in that
    address's shipping consignment, pickup lines in a pickup consignment per pickup method,
    digital lines in the one download consignment and gift certificates under `email`. Line
    items are the order product objects when expanded (`include=consignments.line_items`), else
    one product resource link each.
    """

    def line_items(lines: list[OrderLine]) -> list[Json]:
        if not with_lines:
            return [link(api_base, f"/orders/{order.id}/products/{ln.id}") for ln in lines]
        # a store may leave fields out of its consignment line items (reference §4.6)
        return [
            {k: v for k, v in line_json(order, ln).items() if k not in order.consignment_line_gaps}
            for ln in lines
        ]

    shipped = [ln for ln in order.lines if ln.type == "physical" and ln.order_pickup_method_id == 0]
    shipping = []
    for addr in order.addresses:
        entry = shipping_address_json(order, addr, api_base)
        del entry["order_id"]
        entry["shipping_quotes"] = link(
            api_base, f"/orders/{order.id}/consignments/shipping/{addr.id}/shipping_quotes"
        )
        entry["line_items"] = line_items([ln for ln in shipped if ln.order_address_id == addr.id])
        shipping.append(entry)
    pickup_methods = sorted({ln.order_pickup_method_id for ln in order.lines if ln.order_pickup_method_id})
    pickups = [
        {
            "id": method,
            "pickup_method_id": method,
            "pickup_method_display_name": "Pick Up",
            "collection_instructions": "",
            "collection_time_description": "",
            "location": {"id": method, "name": f"Location {method}"},
            "line_items": line_items([ln for ln in order.lines if ln.order_pickup_method_id == method]),
        }
        for method in pickup_methods
    ]
    email = order.billing_address.email
    digital = [ln for ln in order.lines if ln.type == "digital"]
    downloads = [{"recipient_email": email, "line_items": line_items(digital)}] if digital else []
    cards = [
        {"recipient_email": email, "line_items": line_items([ln])}
        for ln in order.lines
        if ln.type == "giftcertificate"
    ]
    body: Json = {
        "pickups": pickups,
        "shipping": shipping,
        "downloads": downloads,
        "email": {"gift_certificates": cards},
    }
    if as_object:
        return body
    # Without consignment_structure=object the v2 API answers with a list (shape unverified).
    return [{key: value} for key, value in body.items()]


def order_json(
    order: Order,
    store: Store,
    api_base: str,
    *,
    include: frozenset[str] = frozenset(),
    consignments_as_object: bool = False,
) -> Json:
    """An order (reference §4.2); `api_base` is `{api_url}/stores/{hash}/v2`."""
    status_name = ORDER_STATUSES.get(order.status_id, ("Unknown", ""))[0]
    zero = Decimal("0")
    body: Json = {
        "id": order.id,
        "customer_id": order.customer_id,
        "date_created": rfc2822(order.date_created),
        "date_modified": rfc2822(order.date_modified),
        "date_shipped": rfc2822(order.date_shipped),
        "status_id": order.status_id,
        "status": status_name,
        "custom_status": status_name,
        "subtotal_ex_tax": money(order.subtotal_ex_tax),
        "subtotal_inc_tax": money(order.subtotal_inc_tax),
        "subtotal_tax": money(order.subtotal_inc_tax - order.subtotal_ex_tax),
        "base_shipping_cost": money(order.shipping_cost_ex_tax),
        "shipping_cost_ex_tax": money(order.shipping_cost_ex_tax),
        "shipping_cost_inc_tax": money(order.shipping_cost_inc_tax),
        "shipping_cost_tax": money(order.shipping_cost_inc_tax - order.shipping_cost_ex_tax),
        "base_handling_cost": money(zero),
        "handling_cost_ex_tax": money(zero),
        "handling_cost_inc_tax": money(zero),
        "handling_cost_tax": money(zero),
        "base_wrapping_cost": money(zero),
        "wrapping_cost_ex_tax": money(zero),
        "wrapping_cost_inc_tax": money(zero),
        "wrapping_cost_tax": money(zero),
        "total_ex_tax": money(order.total_ex_tax),
        "total_inc_tax": money(order.total_inc_tax),
        "total_tax": money(order.total_inc_tax - order.total_ex_tax),
        "items_total": order.items_total,
        "items_shipped": order.items_shipped,
        "payment_method": order.payment_method,
        "payment_provider_id": None,
        "payment_status": order.payment_status,
        "refunded_amount": money(zero),
        "order_is_digital": order.order_is_digital,
        "store_credit_amount": money(zero),
        "gift_certificate_amount": money(zero),
        "ip_address": "",
        "geoip_country": "",
        "geoip_country_iso2": order.geoip_country_iso2,
        "currency_id": 1,
        "currency_code": order.currency_code,
        "currency_exchange_rate": "1.0000000000",
        "default_currency_id": 1,
        "default_currency_code": order.currency_code,
        "store_default_currency_code": store.currency,
        "store_default_to_transactional_exchange_rate": "1.0000000000",
        "staff_notes": order.staff_notes,
        "customer_message": order.customer_message,
        "discount_amount": money(zero),
        "coupon_discount": money(zero),
        "shipping_address_count": len(order.addresses),
        "is_deleted": order.is_deleted,
        "ebay_order_id": "0",
        "cart_id": order.cart_id,
        "billing_address": {**address_json(order.billing_address), "form_fields": []},
        "is_email_opt_in": False,
        "credit_card_type": None,
        "order_source": order.order_source,
        "channel_id": order.channel_id,
        "external_source": order.external_source,
        "external_id": order.external_id,
        "external_order_id": order.external_order_id,
        "external_merchant_id": "",
        "tax_provider_id": "BasicTaxProvider",
        "customer_locale": order.customer_locale,
        "store_default_currency_code_locale": "en-GB",
        "products": link(api_base, f"/orders/{order.id}/products"),
        "shipping_addresses": link(api_base, f"/orders/{order.id}/shipping_addresses"),
        "coupons": link(api_base, f"/orders/{order.id}/coupons"),
    }
    if "consignments" in include or "consignments.line_items" in include:
        body["consignments"] = consignments_json(
            order,
            api_base,
            with_lines="consignments.line_items" in include,
            as_object=consignments_as_object,
        )
    else:
        body["consignments"] = link(api_base, f"/orders/{order.id}/consignments")
    # The sandbox's orders carry no fees: expanded they are an empty list, else a link (reference §4.2).
    body["fees"] = [] if "fees" in include else link(api_base, f"/orders/{order.id}/fees")
    return body


def tracking_link_for(provider: str, carrier: str, number: str) -> str:
    """The `generated_tracking_link` BigCommerce derives from provider/carrier + number."""
    if not number:
        return ""
    if provider == "royalmail":
        return ROYAL_MAIL_TRACKING.format(number=number)
    if carrier:
        return f"https://track.aftership.com/{carrier}/{number}"
    return ""


def shipment_json(order: Order, shipment: Shipment) -> Json:
    """An `orderShipment` (reference §5.1)."""
    addr = order.address(shipment.order_address_id)
    provider = shipment.shipping_provider
    return {
        "id": shipment.id,
        "order_id": order.id,
        "customer_id": order.customer_id,
        "order_address_id": shipment.order_address_id,
        "date_created": rfc2822(shipment.date_created),
        "tracking_number": shipment.tracking_number,
        "merchant_shipping_cost": money(shipment.merchant_shipping_cost),
        "shipping_method": shipment.shipping_method,
        "shipping_provider": provider,
        "shipping_provider_display_name": "Royal Mail" if provider == "royalmail" else provider,
        "tracking_carrier": shipment.tracking_carrier,
        "tracking_link": shipment.tracking_link,
        "generated_tracking_link": tracking_link_for(
            provider, shipment.tracking_carrier, shipment.tracking_number
        ),
        "comments": shipment.comments,
        "billing_address": address_json(order.billing_address),
        "shipping_address": address_json(addr.address) if addr else {},
        "items": [
            {"order_product_id": i.order_product_id, "product_id": i.product_id, "quantity": i.quantity}
            for i in shipment.items
        ],
    }


def store_json(store: Store, account_uuid: str) -> Json:
    """`GET /v2/store` (reference §6)."""
    domain = f"store-{store.hash}.mybigcommerce.com"
    return {
        "id": store.hash,
        "account_uuid": account_uuid,
        "domain": domain,
        "secure_url": f"https://{domain}",
        "control_panel_base_url": f"https://{domain}",
        "status": "live",
        "name": store.name,
        "first_name": store.owner.username.split("@")[0],
        "last_name": "",
        "address": "",
        "country": store.country,
        "country_code": store.country_code,
        "phone": "",
        "admin_email": store.owner.email,
        "order_email": store.owner.email,
        "favicon_url": "",
        "timezone": {
            "name": store.timezone,
            "raw_offset": 0,
            "dst_offset": 3600,
            "dst_correction": True,
            "date_format": {"display": "M jS Y", "export": "M jS Y", "extended_display": "M jS Y @ g:i A"},
        },
        "language": "en",
        "currency": store.currency,
        "currency_symbol": store.currency_symbol,
        "decimal_separator": ".",
        "thousands_separator": ",",
        "decimal_places": 2,
        "currency_symbol_location": "left",
        "weight_units": store.weight_units,
        "dimension_units": store.dimension_units,
        "dimension_decimal_places": "2",
        "dimension_decimal_token": ".",
        "dimension_thousands_token": ",",
        "plan_name": store.plan_name,
        "plan_level": store.plan_name,
        "plan_is_trial": False,
        "industry": "",
        "logo": [],
        "is_price_entered_with_tax": False,
        "store_id": store.store_id,
        "default_channel_id": 1,
        "default_site_id": 1000,
        "active_comparison_modules": [],
        "infrastructure_region": "europe-west2",
        "features": {
            "stencil_enabled": True,
            "sitewidehttps_enabled": True,
            "facebook_catalog_id": "",
            "checkout_type": "optimized",
            "wishlists_enabled": False,
            "graphql_storefront_api_enabled": True,
            "shopper_consent_tracking_enabled": False,
            "multi_storefront_enabled": True,
        },
    }


def hook_json(hook: Hook) -> Json:
    """A v3 webhook (reference §8.1)."""
    return {
        "id": hook.id,
        "client_id": hook.client_id,
        "store_hash": hook.store_hash,
        "scope": hook.scope,
        "destination": hook.destination,
        "is_active": hook.is_active,
        "headers": hook.headers,
        "created_at": hook.created_at,
        "updated_at": hook.updated_at,
    }
