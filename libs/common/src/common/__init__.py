"""Shared library of the Click & Drop BigCommerce connector."""
