"""The SQL index: the only code that writes SQL. ORM rows never leave this package."""
