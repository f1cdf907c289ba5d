"""State database: engine and session factory, base model, column types, migrations."""
