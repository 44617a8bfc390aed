"""The LLM policy: prompt, client (the only openai importer), validation gate, audit and cache port."""
