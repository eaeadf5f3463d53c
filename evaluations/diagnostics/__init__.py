"""Diagnostics: the evidence on whether to believe an estimate (report.run_diagnostics gathers them).

Nothing is imported here, so that a light use of one module (power.planned_mdes in
`commonground check`) does not import every diagnostic and scipy.stats with it."""
