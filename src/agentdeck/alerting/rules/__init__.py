"""Alert rules: schemas, CRUD, compile, import, backtest, the default pack, evaluation."""
