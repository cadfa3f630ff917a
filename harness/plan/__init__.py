"""A run as data: the plan of cases, each a plain, versioned, JSON-round-trippable specification."""
