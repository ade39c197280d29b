"""One construct per capability; the stack (`infra.stack`) composes them and wires grants."""
