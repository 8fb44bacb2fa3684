"""The exchange pipeline around the engine: sequence -> journal -> apply -> acknowledge when
durable -> publish, recovery from snapshot + journal, and the wiring of those stages."""
