"""Local servers that speak real wire protocols (OpenAI, Telegram Bot API, Alpaca) on 127.0.0.1."""
