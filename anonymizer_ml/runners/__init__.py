"""Runners execute a plan over data: ``local`` streams Parquet files on this machine."""
