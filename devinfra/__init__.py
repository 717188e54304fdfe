"""Local servers for tests, benchmarks and `make run`: started on loopback, in temporary dirs."""
