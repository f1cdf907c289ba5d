"""Dispatch: turning alerts into notifications along the routing tree."""
