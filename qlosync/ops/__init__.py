"""Operations an operator runs, shared by the CLI and the admin HTTP API: one function per operation, two thin faces."""
