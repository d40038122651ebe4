"""A faithful fake of the parts of BigCommerce the connector uses, served with aiohttp."""

from bigcommerce_sandbox.builders import AddressSpec, LineSpec
from bigcommerce_sandbox.clock import ManualClock
from bigcommerce_sandbox.errors import SandboxError
from bigcommerce_sandbox.faults import Fault, FaultSet
from bigcommerce_sandbox.generator import generate_orders
from bigcommerce_sandbox.models import (
    Address,
    AppConfig,
    CallbackCall,
    Delivery,
    Hook,
    Order,
    RequestRecord,
    Store,
)
from bigcommerce_sandbox.oauth import AuthCallback
from bigcommerce_sandbox.persistence import StateFileError
from bigcommerce_sandbox.runner import create_demo_store, run_sandbox, serve, serve_forever
from bigcommerce_sandbox.sandbox import Sandbox

__all__ = [
    "Address",
    "AddressSpec",
    "AppConfig",
    "AuthCallback",
    "CallbackCall",
    "Delivery",
    "Fault",
    "FaultSet",
    "Hook",
    "LineSpec",
    "ManualClock",
    "Order",
    "RequestRecord",
    "Sandbox",
    "SandboxError",
    "StateFileError",
    "Store",
    "create_demo_store",
    "generate_orders",
    "run_sandbox",
    "serve",
    "serve_forever",
]
