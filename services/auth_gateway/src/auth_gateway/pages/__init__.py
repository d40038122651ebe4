"""The merchant pages the gateway renders: "App installed", errors, and the demo settings pages."""
