"""DataWiz loader: lands Parquet extracts, raw and unchanged but for lineage, exactly once."""
