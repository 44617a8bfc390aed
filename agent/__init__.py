"""The decision side of paperdesk: universe, market data, indicators, output schema and policies."""
