def reference_profile(table, rows, scorer, engine):
    return {}
