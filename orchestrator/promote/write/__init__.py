"""The promotion write side: promotion commits, batches, publish, approve, rollback, suspension."""
