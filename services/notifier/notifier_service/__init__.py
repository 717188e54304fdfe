"""The notifier service: consumes generation and export events and notifies, exactly once per event."""
