"""Activities: one class per external system, dependencies injected by the worker."""
