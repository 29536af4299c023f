"""Telemetry backends behind one `Connector` interface (see `connectors.base`)."""
