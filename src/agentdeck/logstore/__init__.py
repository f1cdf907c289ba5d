"""Log stores: the ``LogStore`` protocol, the LogQL subset and its two implementations."""
