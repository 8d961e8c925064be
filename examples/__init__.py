"""Examples for integrators."""
