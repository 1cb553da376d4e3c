"""pycompose: the Compose layer (stack file -> model -> graph -> plan -> engine calls)."""

from compose.stack import Service, ServiceNotReadyError, Stack, StackError

__all__ = ["Service", "ServiceNotReadyError", "Stack", "StackError"]
