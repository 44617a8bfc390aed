"""Subsets of published wire specifications that the spec tests read, and the scripts that cut them."""
