"""The internal API Click & Drop calls: channels, their settings, lifecycle and despatches (CONTRACT §4)."""
