"""Host adapters: the only code that imports a host's `modules.*`."""
