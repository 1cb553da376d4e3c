"""pycompose: the Compose layer (stack file -> model -> graph -> plan -> engine calls)."""
