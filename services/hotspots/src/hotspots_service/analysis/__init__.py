"""Pure spatial analytics (numpy/scipy/sklearn): no database, no HTTP."""
