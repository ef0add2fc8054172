"""Command groups of the alstrial CLI, one module per group."""
