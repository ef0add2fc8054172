"""Trial design by simulation: simulated cohorts as analysis datasets, power and type I error."""
