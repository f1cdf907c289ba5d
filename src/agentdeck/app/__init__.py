"""The composition root: the one place that knows every domain and wires them together."""
