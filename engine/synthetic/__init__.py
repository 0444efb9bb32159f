"""A gallery of procedural synthetic artists, for the demo and tests."""
