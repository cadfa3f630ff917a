"""Running a plan over a fleet of benchmark hosts on Dask distributed."""
