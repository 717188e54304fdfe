"""The notifier service: a separate deployment that consumes events (built in a later issue)."""
