"""Log search: the query API over the log store (search, histogram, context, labels)."""
