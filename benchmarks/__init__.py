"""Speed and memory figures of the API client, printed rather than asserted."""
